/**
 * A small client for the gateway's REST API and WebSocket, as a user's script would use them.
 */
import { expect } from "bun:test";
import type { apiClient } from "../../scripts/lib/api.ts";
import { until } from "../../scripts/lib/proc.ts";

export { apiClient, type Reply } from "../../scripts/lib/api.ts";
export { until };

/**
 * Places a paper MARKET BUY (202 expected) and waits up to `ms` for it to end REJECTED, FILLED,
 * FAILED or CANCELLED; returns the order as the API shows it.
 */
export async function orderOutcome(
  api: ReturnType<typeof apiClient>,
  o: { instrument_token: number; quantity: number },
  ms: number,
): Promise<{ status: string; reason_code?: string }> {
  const r = await api.post("/api/v1/orders", { broker: "paper", instrument_token: o.instrument_token, side: "BUY", quantity: o.quantity, order_type: "MARKET" });
  expect(r.status).toBe(202);
  const id = r.body.order.order_id as string;
  return until(`order ${id} to settle`, async () => {
    const order = (await api.get(`/api/v1/orders/${id}`)).body.order;
    return ["REJECTED", "FILLED", "FAILED", "CANCELLED"].includes(order?.status) ? order : undefined;
  }, ms, 20);
}

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
