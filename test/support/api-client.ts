/**
 * A small client for the gateway's REST API and WebSocket, as a user's script would use them.
 */
import { until } from "../../scripts/lib/proc.ts";

export interface Reply<T = Record<string, any>> {
  status: number;
  body: T;
  headers: Headers;
}

export function apiClient(base: string, key: string) {
  const call = async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
  };
  return {
    get: (path: string) => call("GET", path),
    post: (path: string, body: unknown) => call("POST", path, body),
    put: (path: string, body: unknown) => call("PUT", path, body),
    patch: (path: string, body: unknown) => call("PATCH", path, body),
    del: (path: string) => call("DELETE", path),
  };
}

export { until };

export interface WsClient {
  messages: Array<Record<string, any>>;
  send(msg: unknown): void;
  waitFor(what: string, match: (m: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  close(): void;
}

export async function wsClient(base: string, key: string): Promise<WsClient> {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws?api_key=${encodeURIComponent(key)}`);
  const messages: Array<Record<string, any>> = [];
  ws.onmessage = (e) => messages.push(JSON.parse(String(e.data)));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("websocket did not open"));
  });
  return {
    messages,
    send: (msg) => ws.send(JSON.stringify(msg)),
    waitFor: (what, match, timeoutMs = 10_000) => until(what, async () => messages.find(match), timeoutMs),
    close: () => ws.close(),
  };
}
