/**
 * A small client for the gateway's REST API and WebSocket, as a user's script would use them.
 */
import { until } from "../../scripts/lib/proc.ts";

export { apiClient, type Reply } from "../../scripts/lib/api.ts";
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
