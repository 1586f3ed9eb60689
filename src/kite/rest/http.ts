/**
 * One HTTP exchange with Kite, and what its failure means: which kind of KiteError, whether
 * trying again can help (`transient`), and whether Kite may have acted on it anyway (`applied`).
 * The retry policy (retry.ts) decides from those two flags, never from messages.
 */
import { KiteError, RELOGIN_HINT } from "./errors.ts";

/** `fetch`, or anything shaped like it (tests inject one). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface KiteRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path and query, e.g. "/orders/regular". */
  path: string;
  /** Sent form-encoded (Kite takes application/x-www-form-urlencoded, not JSON). */
  form?: Record<string, string>;
  /** "token api_key:access_token"; absent for the session exchange. */
  authorization?: string;
}

export type Outcome =
  | { ok: true; data: unknown }
  | {
      ok: false;
      error: KiteError;
      /** Trying the same request again may succeed. */
      transient: boolean;
      /** "maybe": Kite may have acted on it (no answer, 5xx, an unreadable 200). */
      applied: "no" | "maybe";
      /** From a Retry-After header, when Kite sent one. */
      retryAfterMs?: number;
    };

// Kite's own words for "the request was refused": the order is rejected with its message.
const REJECTIONS = new Set(["InputException", "OrderException", "MarginException", "HoldingException"]);
const UNAVAILABLE = new Set([429, 500, 502, 503, 504]);
// Errors that mean the request never left this machine, so it cannot have been applied.
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ConnectionRefused"]);

function snippet(body: string): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || "(empty body)";
}

function retryAfter(res: Response): number | undefined {
  const s = Number(res.headers.get("retry-after"));
  return Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
}

/** A Kite error answer (or any non-2xx) → the failure it stands for. */
export function classify(status: number, errorType: string | undefined, message: string, request: string): Extract<Outcome, { ok: false }> {
  const details = { request, status, errorType };
  const label = errorType ? `${errorType}, HTTP ${status}` : `HTTP ${status}`;
  if (errorType === "TokenException" || status === 403) {
    const error = new KiteError("token", `Kite refused the session for ${request} (${label}: ${message}); ${RELOGIN_HINT}`, details);
    return { ok: false, error, transient: false, applied: "no" };
  }
  if (errorType !== undefined && REJECTIONS.has(errorType)) {
    return { ok: false, error: new KiteError("rejected", message, details), transient: false, applied: "no" };
  }
  if (errorType === "NetworkException" || UNAVAILABLE.has(status)) {
    const error = new KiteError("network", `Kite unavailable for ${request} (${label}: ${message})`, details);
    // A 429 is Kite refusing before doing anything; any other of these may hide a done deed.
    return { ok: false, error, transient: true, applied: status === 429 ? "no" : "maybe" };
  }
  const error = new KiteError("general", `Kite error for ${request} (${label}: ${message})`, details);
  return { ok: false, error, transient: false, applied: status >= 500 ? "maybe" : "no" };
}

function transportFailure(err: unknown, request: string, timedOut: boolean, timeoutMs: number): Outcome {
  const code = (err as { code?: unknown } | null)?.code;
  const reason = timedOut ? `no answer within ${timeoutMs} ms` : err instanceof Error ? err.message : String(err);
  const error = new KiteError("network", `cannot reach Kite for ${request}: ${reason}`, { request }, err);
  const notSent = !timedOut && typeof code === "string" && NOT_SENT.has(code);
  return { ok: false, error, transient: true, applied: notSent ? "no" : "maybe" };
}

/**
 * Sends one request and reads Kite's envelope: `{"status":"success","data":…}` or
 * `{"status":"error","message":…,"error_type":…}`. Never throws.
 */
export async function send(fetchFn: FetchLike, baseUrl: string, req: KiteRequest, timeoutMs: number): Promise<Outcome> {
  const request = `${req.method} ${req.path.split("?")[0]}`;
  const headers: Record<string, string> = { "X-Kite-Version": "3", "User-Agent": "alpha-panda" };
  if (req.authorization) headers.Authorization = req.authorization;
  let body: string | undefined;
  if (req.form) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(req.form).toString();
  }

  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetchFn(baseUrl + req.path, { method: req.method, headers, body, signal: abort.signal });
    text = await res.text();
  } catch (err) {
    return transportFailure(err, request, timedOut, timeoutMs);
  } finally {
    clearTimeout(timer);
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const envelope = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : undefined;
  const errorType = typeof envelope?.error_type === "string" ? envelope.error_type : undefined;

  if (res.ok && envelope?.status === "success" && "data" in envelope) return { ok: true, data: json };
  if (res.ok && !errorType && envelope?.status !== "error") {
    const error = new KiteError("bad_response", `Kite answered ${request} with HTTP ${res.status} but not its success envelope: ${snippet(text)}`, {
      request,
      status: res.status,
    });
    return { ok: false, error, transient: false, applied: "maybe" };
  }
  const message = typeof envelope?.message === "string" ? envelope.message : snippet(text);
  const failure = classify(res.status, errorType, message, request);
  const wait = retryAfter(res);
  return wait === undefined ? failure : { ...failure, retryAfterMs: wait };
}
