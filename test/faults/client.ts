/**
 * A careful client of the gateway's API, as a trader's script should be: every call has a
 * timeout, an order is retried with the same client_order_id on errors, timeouts and 503 (with
 * backoff, a bounded number of times), and a call goes to the next gateway when one does not
 * answer. It counts every answer, so a 5xx other than 503 anywhere is seen.
 */
export interface CallResult {
  status: number; // 0: no answer (refused, reset, timed out)
  body: Record<string, any>;
  error?: string;
  retryAfterS?: number;
}

export interface ClientCounts {
  calls: number;
  noAnswer: number;
  s503: number;
  /** 5xx other than 503: a failure of the harness's checks wherever it happens. */
  other5xx: number;
  other5xxSamples: string[];
  /** POST /orders attempts answered after more than 2 s, or not at all (the bound on an answer). */
  slowOrders: number;
}

export const ORDER_ATTEMPTS = 12;
const CALL_TIMEOUT_MS = 5_000;

export class Client {
  readonly counts: ClientCounts = { calls: 0, noAnswer: 0, s503: 0, other5xx: 0, other5xxSamples: [], slowOrders: 0 };
  private next = 0;

  /** `urls()` are the gateways to use right now (they change as gateways die and come back). */
  constructor(private readonly urls: () => string[], private readonly key: string) {}

  async call(method: string, path: string, body?: unknown, timeoutMs = CALL_TIMEOUT_MS): Promise<CallResult> {
    const urls = this.urls();
    if (urls.length === 0) return { status: 0, body: {}, error: "no gateway" };
    const base = urls[this.next++ % urls.length]!;
    this.counts.calls++;
    const t0 = Date.now();
    const slow = () => void (method === "POST" && path === "/api/v1/orders" && Date.now() - t0 > 2_000 && this.counts.slowOrders++);
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      slow();
      let parsed: Record<string, any> = {};
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = { text };
      }
      if (res.status === 503) this.counts.s503++;
      else if (res.status >= 500) {
        this.counts.other5xx++;
        if (this.counts.other5xxSamples.length < 5) this.counts.other5xxSamples.push(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
      }
      const ra = Number(res.headers.get("retry-after"));
      return { status: res.status, body: parsed, ...(Number.isFinite(ra) && ra > 0 ? { retryAfterS: ra } : {}) };
    } catch (err) {
      this.counts.noAnswer++;
      slow(); // a timeout; a refused connection (a dead gateway) is answered at once
      return { status: 0, body: {}, error: (err as Error).name === "TimeoutError" ? "timeout" : (err as Error).message };
    }
  }

  get = (path: string) => this.call("GET", path);
  post = (path: string, body: unknown) => this.call("POST", path, body);
  put = (path: string, body: unknown) => this.call("PUT", path, body);
  patch = (path: string, body: unknown) => this.call("PATCH", path, body);
}

export interface OrderSpec {
  i: number;
  client_order_id: string;
  instrument_token: number;
  side: "BUY" | "SELL";
  quantity: number;
  order_type: "MARKET" | "LIMIT";
  /** Rupees, for LIMIT. */
  price?: string;
}

export interface Placed {
  spec: OrderSpec;
  /** When the first attempt was sent (ms since the epoch). */
  sentAt: number;
  /** The first 2xx: when, its status and the order id it named. */
  acceptedAt?: number;
  status?: number;
  orderId?: string;
  attempts: number;
  /** The last answer when it was never accepted. */
  lastError?: string;
}

/**
 * Places one order, retrying on no answer, 5xx (503 too, after its Retry-After, at most 2 s) with
 * exponential backoff from 200 ms to 2 s, at most ORDER_ATTEMPTS times; a 4xx is final.
 */
export async function placeOrder(client: Client, spec: OrderSpec): Promise<Placed> {
  const placed: Placed = { spec, sentAt: Date.now(), attempts: 0 };
  const body = {
    broker: "paper",
    instrument_token: spec.instrument_token,
    side: spec.side,
    quantity: spec.quantity,
    order_type: spec.order_type,
    ...(spec.price ? { price: spec.price } : {}),
    client_order_id: spec.client_order_id,
  };
  for (let attempt = 0; attempt < ORDER_ATTEMPTS; attempt++) {
    placed.attempts++;
    const r = await client.post("/api/v1/orders", body);
    if (r.status >= 200 && r.status < 300) {
      placed.acceptedAt = Date.now();
      placed.status = r.status;
      placed.orderId = r.body.order?.order_id;
      return placed;
    }
    placed.lastError = r.status === 0 ? r.error : `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
    if (r.status >= 400 && r.status < 500) return placed;
    const backoff = Math.min(2_000, 200 * 2 ** attempt);
    await Bun.sleep(r.retryAfterS ? Math.min(2_000, r.retryAfterS * 1000) : backoff);
  }
  return placed;
}
