/**
 * The MIS square-off on the embedded gateway, as a user runs it (MARKET_HOURS=nse, no feed):
 * ticks posted with chosen exchange times (a past Friday, so the test does not depend on the
 * wall clock) make a strategy buy in the morning; the tick at 15:20 IST squares the position off.
 * The square-off is in the orders view with its reason and events, FILLED at the market, and the
 * position is flat. Nothing happens at 15:19. A strategy that exits on the 15:20 tick itself
 * (racing the square-off) ends flat too: its late fill is undone.
 */
import { afterAll, expect, test } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_day_end_e2e_test_key_012345";
/** ITC: no seeded strategy trades it. */
const ITC = 424961;
const ist = (hhmmss: string) => new Date(Date.parse(`2026-12-04T${hhmmss}+05:30`)).toISOString();

let gw: GatewayProcess | undefined;
afterAll(async () => {
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.interrupt();
});

test("an MIS position bought at 09:15 is squared off by the tick at 15:20 IST: the order with its reason in the orders view, FILLED, and the position flat", async () => {
  gw = spawnGateway({ PORT: "0", FEED: "none", MARKET_HOURS: "nse", BOOTSTRAP_API_KEY: KEY });
  const api = apiClient(await gw.url(60_000), KEY);
  await until("ready", async () => (await api.get("/ready")).status === 200, 60_000);
  const id = `dayend_${Date.now().toString(36)}`;
  expect((await api.post("/api/v1/strategies", { id, kind: "momentum", params: { lookback: 1, threshold_bps: 10, quantity: 5 }, instruments: [ITC], brokers: ["paper"], enabled: true })).status).toBe(201);
  const tick = async (at: string, price: string) =>
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: ITC, last_price: price, exchange_ts: ist(at) }] })).status).toBe(202);
  const orders = async () => (await api.get(`/api/v1/orders?strategy_id=${id}`)).body.orders as Array<Record<string, any>>;

  // Thursday: a second strategy on LT exits by itself on the very tick that reaches 15:20, racing
  // the square-off; its fill after the square-off is undone, so it ends flat all the same.
  const LT = 2939649;
  const racer = `${id}_race`;
  expect((await api.post("/api/v1/strategies", { id: racer, kind: "momentum", params: { lookback: 1, threshold_bps: 10, quantity: 3 }, instruments: [LT], brokers: ["paper"], enabled: true })).status).toBe(201);
  const thursday = (at: string) => new Date(Date.parse(`2026-12-03T${at}+05:30`)).toISOString();
  const ltTick = async (at: string, price: string) =>
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: LT, last_price: price, exchange_ts: thursday(at) }] })).status).toBe(202);
  await ltTick("09:15:00", "3600.00");
  await ltTick("09:15:01", "3640.00");
  await until("LT's BUY to fill", async () => ((await api.get(`/api/v1/orders?strategy_id=${racer}&status=FILLED`)).body.orders.length > 0 ? true : undefined), 20_000);
  await ltTick("15:20:00", "3600.00");
  const raced = await until("LT flat, with the late fill undone", async () => {
    const all = (await api.get(`/api/v1/orders?strategy_id=${racer}`)).body.orders as Array<Record<string, any>>;
    const positions = (await api.get("/api/v1/portfolios/paper/positions")).body.positions as Array<Record<string, any>> | undefined;
    const p = positions?.find((x) => x.strategy_id === racer && x.instrument_token === LT);
    return all.length === 4 && all.every((o) => o.status === "FILLED") && p?.quantity === 0 ? all : undefined;
  }, 30_000);
  expect(raced.map((o) => o.side).sort()).toEqual(["BUY", "BUY", "SELL", "SELL"]);

  await tick("09:15:00", "476.00");
  await tick("09:15:01", "481.00");
  const [buy] = await until("the morning's BUY to fill", async () => {
    const filled = (await orders()).filter((o) => o.status === "FILLED");
    return filled.length > 0 ? filled : undefined;
  }, 20_000);
  expect([buy!.side, buy!.quantity]).toEqual(["BUY", 5]);

  await tick("15:19:00", "481.00");
  await Bun.sleep(1_000);
  expect((await orders()).map((o) => o.side)).toEqual(["BUY"]);

  await tick("15:20:00", "481.00");
  const sell = await until("the square-off to fill", async () => (await orders()).find((o) => o.side === "SELL" && o.status === "FILLED"), 20_000);
  expect(sell).toMatchObject({ order_type: "MARKET", quantity: 5, filled_quantity: 5, instrument_token: ITC, created_at: ist("15:20:00") });
  const shown = (await api.get(`/api/v1/orders/${sell.order_id}`)).body.order;
  const validated = shown.events.find((e: { type: string }) => e.type === "signal.validated");
  expect(validated.data).toMatchObject({ reason: "MIS square-off at 15:20 IST", reduce_only: true });
  expect(validated.ts).toBe(ist("15:20:00"));
  expect(shown.events.map((e: { type: string }) => e.type)).toEqual(["signal.validated", "order.submitted", "order.filled"]);

  const flat = await until("the position to be flat", async () => {
    const r = await api.get("/api/v1/portfolios/paper/positions");
    const p = (r.body.positions as Array<Record<string, any>> | undefined)?.find((x) => x.strategy_id === id && x.instrument_token === ITC);
    return p && p.quantity === 0 ? p : undefined;
  }, 20_000);
  expect(flat.quantity).toBe(0);
});
