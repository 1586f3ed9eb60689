/**
 * A small client for the gateway's REST API, as a user's script would use it (the benchmark and
 * the tests both drive the gateway with it).
 */
export interface Reply<T = Record<string, any>> {
  status: number;
  /** The JSON body; `{ text }` when the body is not JSON; `{}` when there is none. */
  body: T;
  headers: Headers;
}

/**
 * @example
 * const api = apiClient("http://127.0.0.1:8080", key);
 * const { status, body } = await api.get("/api/v1/portfolios/paper");
 */
export function apiClient(base: string, key: string) {
  const call = async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Record<string, any> = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    get: (path: string) => call("GET", path),
    post: (path: string, body: unknown) => call("POST", path, body),
    put: (path: string, body: unknown) => call("PUT", path, body),
    patch: (path: string, body: unknown) => call("PATCH", path, body),
    del: (path: string) => call("DELETE", path),
  };
}
