/**
 * The desk's REST client: every call carries the key; an answer outside 2xx becomes an
 * {@link ApiFailure} with the API's error code and message (our error shape).
 */

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * @example
 * const api = new Api(key);
 * const { portfolios } = await api.get<{ portfolios: Portfolio[] }>("/portfolios");
 */
export class Api {
  constructor(readonly key: string) {}

  async call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiFailure(0, "NETWORK", "the gateway does not answer", null);
    }
    const json = (await res.json().catch(() => null)) as { error?: { code: string; message: string; details: unknown } } | null;
    if (!res.ok) throw new ApiFailure(res.status, json?.error?.code ?? "HTTP_" + res.status, json?.error?.message ?? `the gateway answered ${res.status}`, json?.error?.details ?? null);
    return json as T;
  }

  get = <T>(path: string) => this.call<T>("GET", path);
  post = <T>(path: string, body?: unknown) => this.call<T>("POST", path, body ?? {});
  put = <T>(path: string, body: unknown) => this.call<T>("PUT", path, body);
  patch = <T>(path: string, body: unknown) => this.call<T>("PATCH", path, body);
  del = <T>(path: string) => this.call<T>("DELETE", path);
}

/**
 * Which operations this gateway offers, from its public /openapi.json: the desk shows a button
 * only for what the gateway can do, and never calls a route that is not there.
 *
 * @example
 * const can = await capabilities();
 * can("patch", "/orders/{id}"); // true once order modify is deployed
 */
export async function capabilities(): Promise<(method: string, path: string) => boolean> {
  const doc = (await fetch("/openapi.json").then((r) => r.json())) as { paths?: Record<string, Record<string, unknown>> };
  const paths = doc.paths ?? {};
  return (method, path) => Boolean(paths[`/api/v1${path}`]?.[method.toLowerCase()]);
}

/** The message to show for a failed action. */
export const failureText = (err: unknown): string => (err instanceof ApiFailure ? `${err.message} (${err.status} ${err.code})` : (err as Error).message);
