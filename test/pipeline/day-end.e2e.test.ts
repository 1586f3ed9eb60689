/**
 * The MIS square-off on the embedded gateway, as a user runs it (MARKET_HOURS=nse, no feed):
 * ticks posted with chosen exchange times (a past Friday, so the test does not depend on the
 * wall clock) make a strategy buy in the morning; the tick at 15:20 IST squares the position off.
 * The square-off is in the orders view with its reason and events, FILLED at the market, and the
 * position is flat. Nothing happens at 15:19. A strategy that exits on the 15:20 tick itself
 * ends flat too: the square-off goes first, and its own MIS exit after it is refused MIS_SQUARED_OFF.
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
  // The strategy stage applies a new strategy from the control topic on its own consumer: ticks
  // posted before it has would reach no strategy, so wait for its log line.
  const applied = (strategy: string) => gw!.waitFor((l) => l.msg === "strategy changed" && l.strategy === strategy, 30_000);
  await applied(id);
  const tick = async (at: string, price: string) =>
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: ITC, last_price: price, exchange_ts: ist(at) }] })).status).toBe(202);
  const orders = async () => (await api.get(`/api/v1/orders?strategy_id=${id}`)).body.orders as Array<Record<string, any>>;

  // Thursday: a second strategy on LT would exit by itself on the very tick that reaches 15:20;
  // the square-off goes first, and the strategy's own MIS exit after it is refused
  // MIS_SQUARED_OFF, so it ends flat with one SELL.
  const LT = 2939649;
  const racer = `${id}_race`;
  expect((await api.post("/api/v1/strategies", { id: racer, kind: "momentum", params: { lookback: 1, threshold_bps: 10, quantity: 3 }, instruments: [LT], brokers: ["paper"], enabled: true })).status).toBe(201);
  await applied(racer);
  const thursday = (at: string) => new Date(Date.parse(`2026-12-03T${at}+05:30`)).toISOString();
  const ltTick = async (at: string, price: string) =>
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: LT, last_price: price, exchange_ts: thursday(at) }] })).status).toBe(202);
  await ltTick("09:15:00", "3600.00");
  await ltTick("09:15:01", "3640.00");
  await until("LT's BUY to fill", async () => ((await api.get(`/api/v1/orders?strategy_id=${racer}&status=FILLED`)).body.orders.length > 0 ? true : undefined), 20_000);
  await ltTick("15:20:00", "3600.00");
  const raced = await until("LT flat, the strategy's own exit refused", async () => {
    const all = (await api.get(`/api/v1/orders?strategy_id=${racer}`)).body.orders as Array<Record<string, any>>;
    const positions = (await api.get("/api/v1/portfolios/paper/positions")).body.positions as Array<Record<string, any>> | undefined;
    const p = positions?.find((x) => x.strategy_id === racer && x.instrument_token === LT);
    return all.length === 3 && all.every((o) => o.status === "FILLED" || o.status === "REJECTED") && p?.quantity === 0 ? all : undefined;
  }, 30_000);
  expect(raced.map((o) => `${o.side} ${o.status} ${o.reason_code ?? ""}`.trim()).sort()).toEqual(["BUY FILLED", "SELL FILLED", "SELL REJECTED MIS_SQUARED_OFF"]);

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

test("a daily-loss breach puts the broker in REDUCING (the API shows it) and squares off the intraday position", async () => {
  // Hours not enforced: the liquidation does not depend on them.
  const loss = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
  try {
    const api = apiClient(await loss.url(60_000), KEY);
    await until("ready", async () => (await api.get("/ready")).status === 200, 60_000);
    const AXIS = 1510401;
    const id = `loss_${Date.now().toString(36)}`;
    expect((await api.put("/api/v1/risk/paper/limits", { max_daily_loss: "500.00" })).status).toBe(200);
    // Enters on a rise above 3% (within risk's 5% price band) and holds through any smaller fall.
    expect((await api.post("/api/v1/strategies", { id, kind: "momentum", params: { lookback: 1, threshold_bps: 300, quantity: 100 }, instruments: [AXIS], brokers: ["paper"], enabled: true })).status).toBe(201);
    const wednesday = (at: string) => new Date(Date.parse(`2026-12-02T${at}+05:30`)).toISOString();
    const tick = async (at: string, price: string) =>
      expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: AXIS, last_price: price, exchange_ts: wednesday(at) }] })).status).toBe(202);
    await tick("10:00:00", "1160.00");
    await tick("10:00:01", "1200.00");
    await until("the BUY to fill", async () => ((await api.get(`/api/v1/orders?strategy_id=${id}&status=FILLED`)).body.orders.length > 0 ? true : undefined), 20_000);
    expect((await api.get("/api/v1/risk/paper/limits")).body.risk.state).toBe("ACTIVE");
    // 2.5% lower: about ₹3,000 lost on 100, beyond ₹500.
    await tick("10:05:00", "1170.00");
    const risk = await until("REDUCING", async () => {
      const r = (await api.get("/api/v1/risk/paper/limits")).body.risk;
      return r.state === "REDUCING" ? r : undefined;
    }, 20_000);
    expect(risk.reason).toStartWith("DAILY_LOSS_BREACHED: day P&L ₹-");
    const sell = await until("the square-off to fill", async () => ((await api.get(`/api/v1/orders?strategy_id=${id}&status=FILLED`)).body.orders as Array<Record<string, any>>).find((o) => o.side === "SELL"), 20_000);
    expect(sell).toMatchObject({ order_type: "MARKET", quantity: 100, created_at: wednesday("10:05:00") });
    const shown = (await api.get(`/api/v1/orders/${sell.order_id}`)).body.order;
    expect(shown.events[0].data.reason).toStartWith("daily loss limit breached, intraday positions squared off (DAILY_LOSS_BREACHED");
    await until("the position to be flat", async () => {
      const positions = (await api.get("/api/v1/portfolios/paper/positions")).body.positions as Array<Record<string, any>> | undefined;
      return positions?.find((p) => p.strategy_id === id && p.instrument_token === AXIS)?.quantity === 0 ? true : undefined;
    }, 20_000);
    // REDUCING: a new BUY is refused.
    const r = await api.post("/api/v1/orders", { broker: "paper", instrument_token: AXIS, side: "BUY", quantity: 1, order_type: "MARKET" });
    expect(r.status).toBe(202);
    const refused = await until("the BUY refused", async () => {
      const o = (await api.get(`/api/v1/orders/${r.body.order.order_id}`)).body.order;
      return o?.status === "REJECTED" ? o : undefined;
    }, 20_000);
    expect(refused.reason_code).toBe("REDUCE_ONLY");
  } finally {
    await loss.interrupt();
  }
});
