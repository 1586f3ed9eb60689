/**
 * Cancel-all and square-off on a real embedded gateway (FEED=none, prices from posted ticks):
 * DELETE /orders cancels exactly the resting orders that match; with the kill switch on, a new
 * order is refused while POST /portfolios/paper/close still flattens the positions, one
 * instrument and then all.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_square_off_e2e_key_0123456789";
const RELIANCE = 738561;
const TCS = 2953217;

let gw: GatewayProcess;
let api: ReturnType<typeof apiClient>;

const settled = (id: string, status: string, ms = 15_000) =>
  until(`order ${id} to be ${status}`, async () => {
    const order = (await api.get(`/api/v1/orders/${id}`)).body.order;
    return order?.status === status ? (order as Record<string, any>) : undefined;
  }, ms);

async function order(body: Record<string, unknown>): Promise<string> {
  const r = await api.post("/api/v1/orders", { broker: "paper", order_type: "MARKET", ...body });
  expect(r.status).toBe(202);
  return r.body.order.order_id as string;
}

/** The paper positions once `ready` holds for them. */
const positionsWhen = (what: string, ready: (positions: Array<Record<string, any>>) => boolean) =>
  until(what, async () => {
    const r = await api.get("/api/v1/portfolios/paper/positions");
    return r.status === 200 && ready(r.body.positions) ? (r.body.positions as Array<Record<string, any>>) : undefined;
  }, 15_000);

const quantityOf = (positions: Array<Record<string, any>>, strategy: string, token: number) =>
  positions.find((p) => p.strategy_id === strategy && p.instrument_token === token)?.quantity ?? 0;

beforeAll(async () => {
  gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
  const url = await gw.url(30_000);
  api = apiClient(url, KEY);
  await until("the gateway to be ready", async () => (await fetch(`${url}/ready`)).status === 200, 30_000);
  // The seeded strategies trade these instruments too; off, so only our orders move them.
  for (const id of ["momentum_fast", "mean_reversion_bank"]) expect((await api.patch(`/api/v1/strategies/${id}`, { enabled: false })).status).toBe(200);
  const ticks = await api.post("/api/v1/ticks", {
    ticks: [
      { instrument_token: RELIANCE, last_price: "1290.00", exchange_ts: new Date().toISOString() },
      { instrument_token: TCS, last_price: "4120.05", exchange_ts: new Date().toISOString() },
    ],
  });
  expect(ticks.status).toBe(202);
}, 60_000);

afterAll(async () => {
  if (gw && gw.proc.exitCode === null) {
    const { code } = await gw.interrupt();
    expect(code).toBe(0);
  }
});

describe("cancel-all and square-off, embedded", () => {
  test("positions in two instruments under two strategies", async () => {
    await settled(await order({ instrument_token: RELIANCE, side: "BUY", quantity: 5, strategy_id: "desk_a" }), "FILLED");
    await settled(await order({ instrument_token: TCS, side: "BUY", quantity: 3, strategy_id: "desk_b", product: "CNC" }), "FILLED");
    const positions = await positionsWhen("both positions", (p) => quantityOf(p, "desk_a", RELIANCE) === 5 && quantityOf(p, "desk_b", TCS) === 3);
    expect(positions.filter((p) => p.quantity !== 0)).toHaveLength(2);
  }, 40_000);

  test("DELETE /orders with filters cancels exactly the matching resting LIMIT orders, then the rest", async () => {
    // Below the market, inside the 5% price band: they rest.
    const limit = (token: number, strategy_id: string, price: string) => order({ instrument_token: token, side: "BUY", quantity: 1, order_type: "LIMIT", price, strategy_id });
    const aReliance = [await limit(RELIANCE, "desk_a", "1250.00"), await limit(RELIANCE, "desk_a", "1255.00")];
    const aTcs = await limit(TCS, "desk_a", "4000.00");
    const bReliance = await limit(RELIANCE, "desk_b", "1260.00");
    for (const id of [...aReliance, aTcs, bReliance]) await settled(id, "OPEN");

    const first = await api.del(`/api/v1/orders?broker=paper&strategy_id=desk_a&instrument_token=${RELIANCE}`);
    expect(first.status).toBe(202);
    expect([...first.body.cancelled].sort()).toEqual([...aReliance].sort());
    for (const id of aReliance) expect((await settled(id, "CANCELLED")).events.at(-1).data.reason).toContain("cancel-all");
    expect((await api.get(`/api/v1/orders/${aTcs}`)).body.order.status).toBe("OPEN");
    expect((await api.get(`/api/v1/orders/${bReliance}`)).body.order.status).toBe("OPEN");

    const rest = await api.del("/api/v1/orders?broker=paper");
    expect([...rest.body.cancelled].sort()).toEqual([aTcs, bReliance].sort());
    for (const id of [aTcs, bReliance]) await settled(id, "CANCELLED");
    expect((await api.del("/api/v1/orders?broker=paper")).body).toEqual({ cancelled: [] });
  }, 40_000);

  test("HALTED refuses a new order; the square-off of one instrument, then of all, still flattens them", async () => {
    const halt = await api.post("/api/v1/risk/paper/state", { state: "HALTED", reason: "e2e: square-off under the kill switch" });
    expect(halt.body.risk.state).toBe("HALTED");
    const refused = await settled(await order({ instrument_token: RELIANCE, side: "SELL", quantity: 1, strategy_id: "desk_a" }), "REJECTED");
    expect(refused.reason_code).toBe("TRADING_HALTED");

    const one = await api.post("/api/v1/portfolios/paper/close", { instrument_token: RELIANCE });
    expect(one.status).toBe(202);
    expect(one.body.orders.map((o: any) => [o.strategy_id, o.instrument_token, o.side, o.quantity, o.order_type])).toEqual([["desk_a", RELIANCE, "SELL", 5, "MARKET"]]);
    const closed = await settled(one.body.orders[0].order_id, "FILLED");
    const validated = closed.events.find((e: any) => e.type === "signal.validated");
    expect(validated.data.reduce_only).toBe(true);
    expect(validated.data.checks.find((c: any) => c.rule === "TRADING_HALTED").detail).toContain("a reduce-only order passes if it reduces");
    const afterOne = await positionsWhen("RELIANCE flat", (p) => quantityOf(p, "desk_a", RELIANCE) === 0);
    expect(quantityOf(afterOne, "desk_b", TCS)).toBe(3);

    const all = await api.post("/api/v1/portfolios/paper/close", {});
    expect(all.body.orders.map((o: any) => [o.strategy_id, o.instrument_token, o.side, o.quantity])).toEqual([["desk_b", TCS, "SELL", 3]]);
    const delivery = await settled(all.body.orders[0].order_id, "FILLED");
    // Bought as delivery (CNC), sold as delivery: not an intraday short sale.
    expect(delivery.events[0].data.product).toBe("CNC");
    expect(validated.data.product).toBe("MIS");
    const flat = await positionsWhen("every position flat", (p) => p.every((x) => x.quantity === 0));
    expect(flat.length).toBeGreaterThanOrEqual(2);
    expect((await api.post("/api/v1/portfolios/paper/close", {})).body).toEqual({ orders: [] });
    expect((await api.get("/api/v1/risk/paper/limits")).body.risk.state).toBe("HALTED");
  }, 60_000);
});
