/**
 * Market hours through a real embedded gateway with MARKET_HOURS=nse, independent of the real
 * clock: an API order is judged at the time it was accepted (the wall clock), so the gateway is
 * given a calendar file in which yesterday, today and tomorrow (IST) are holidays, and the market
 * is closed whenever this runs; a strategy's signal is judged at its tick's exchange time, so ticks
 * posted with a Sunday's exchange_ts make Sunday signals. Closed → REJECTED MARKET_CLOSED naming
 * the next open; the same order with amo: true → accepted, and it rests (a marketable tick does
 * not fill it) until the open.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCalendar } from "../../src/market/calendar.ts";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_market_hours_e2e_0123456789";
const ITC = 424961;
const SBIN = 779521;
const DAY_MS = 86_400_000;
const istDate = (ms: number) => new Date(ms + 330 * 60_000).toISOString().slice(0, 10);

let dir: string;
let calendarFile: string;
let gw: GatewayProcess;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "market-hours-"));
  calendarFile = join(dir, "calendar.json");
  const now = Date.now();
  const holidays = [-1, 0, 1].map((d) => ({ date: istDate(now + d * DAY_MS), name: `test holiday ${d + 2}` }));
  const years: Record<string, { holidays: typeof holidays; special_sessions: [] }> = {};
  for (const h of holidays) (years[h.date.slice(0, 4)] ??= { holidays: [], special_sessions: [] }).holidays.push(h);
  writeFileSync(calendarFile, JSON.stringify({ years }));
  gw = spawnGateway({ PORT: "0", FEED: "none", MARKET_HOURS: "nse", MARKET_CALENDAR_FILE: calendarFile, BOOTSTRAP_API_KEY: KEY });
  const url = await gw.url(30_000);
  api = apiClient(url, KEY);
  await until("the gateway to be ready", async () => (await fetch(`${url}/ready`)).status === 200, 30_000);
  // Only this test's orders and strategy trade.
  for (const id of ["momentum_fast", "mean_reversion_bank"]) expect((await api.patch(`/api/v1/strategies/${id}`, { enabled: false })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  if (gw && gw.proc.exitCode === null) await gw.interrupt();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const settled = (id: string, statuses: string[]) =>
  until(`order ${id} to be ${statuses.join(" or ")}`, async () => {
    const o = (await api.get(`/api/v1/orders/${id}`)).body.order;
    return statuses.includes(o?.status) ? (o as Record<string, any>) : undefined;
  }, 20_000);

describe("MARKET_HOURS=nse, embedded", () => {
  test("the calendar route says the market is closed today, for the holiday in the file, and when it opens", async () => {
    const r = await api.get(`/api/v1/market/calendar?exchange=NSE`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ hours_enforced: true, now: { phase: "closed" } });
    expect(r.body.now.why).toMatch(/^holiday: test holiday 2$/);
    expect(r.body.now.next_open.ist).toBe(loadCalendar(calendarFile).nextOpen("NSE", Date.now()).ist);
    // The start says which calendar it enforces and when the market next opens.
    expect(gw.lines.find((l) => l.msg === "market hours enforced (MARKET_HOURS=nse)")).toMatchObject({ calendar: calendarFile, now: "closed", next_open: r.body.now.next_open.ist });
  });

  test("an API order while closed is REJECTED MARKET_CLOSED naming the next open; with amo: true it is accepted and rests through a marketable tick", async () => {
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: ITC, last_price: "476.15" }] })).status).toBe(202);
    const order = { broker: "paper", instrument_token: ITC, side: "BUY", quantity: 1, order_type: "LIMIT", price: "476.00" };
    const placed = await api.post("/api/v1/orders", order);
    expect(placed.status).toBe(202);
    const rejected = await settled(placed.body.order.order_id, ["REJECTED", "OPEN", "FILLED"]);
    const nextOpen = loadCalendar(calendarFile).nextOpen("NSE", Date.now()).ist;
    expect(rejected).toMatchObject({ status: "REJECTED", reason_code: "MARKET_CLOSED" });
    expect(rejected.message).toContain(`NSE is closed (holiday: test holiday`);
    expect(rejected.message).toContain(`it opens ${nextOpen}`);

    // Risk judges by a price it has seen: placed again until the tick was there first.
    const amo = await until("the AMO accepted", async () => {
      const r = await api.post("/api/v1/orders", { ...order, amo: true });
      expect(r.status).toBe(202);
      const o = await settled(r.body.order.order_id, ["REJECTED", "OPEN", "FILLED"]);
      if (o.status === "REJECTED") expect(o.reason_code).toBe("NO_MARKET_PRICE");
      return o.status === "REJECTED" ? undefined : o;
    }, 30_000);
    expect(amo.status).toBe("OPEN");
    // A tick through its limit would fill a resting LIMIT at once; the AMO waits for the open.
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: ITC, last_price: "470.00" }] })).status).toBe(202);
    await Bun.sleep(1_500);
    const resting = (await api.get(`/api/v1/orders/${amo.order_id}`)).body.order;
    expect(resting).toMatchObject({ status: "OPEN", filled_quantity: 0 });
    const validated = resting.events.find((e: any) => e.type === "signal.validated").data;
    expect(validated.amo).toBe(true);
    expect(validated.checks.find((c: any) => c.rule === "MARKET_CLOSED").detail).toContain(`it opens ${nextOpen}: an after-market order, it rests until then`);
    expect(resting.events.find((e: any) => e.type === "order.submitted").data.amo).toBe(true);
    // Still an open order: it can be cancelled before the open.
    expect((await api.del(`/api/v1/orders/${amo.order_id}`)).status).toBe(202);
    expect((await settled(amo.order_id, ["CANCELLED"])).status).toBe("CANCELLED");
  }, 60_000);

  test("a strategy's signal on ticks whose exchange time is a Sunday is judged at that time: REJECTED MARKET_CLOSED naming the Monday open", async () => {
    const id = `hours_momo_${Date.now().toString(36)}`;
    const created = await api.post("/api/v1/strategies", { id, kind: "momentum", params: { lookback: 2, threshold_bps: 10, quantity: 1 }, instruments: [SBIN], brokers: ["paper"], enabled: true });
    expect(created.status).toBe(201);
    // Sunday 29 November 2026, 10:30 IST on: a rise that makes momentum buy.
    const sunday = Date.parse("2026-11-29T10:30:00+05:30");
    const prices = ["800.00", "800.05", "810.00"];
    const ticks = prices.map((last_price, i) => ({ instrument_token: SBIN, last_price, exchange_ts: new Date(sunday + i * 1_000).toISOString() }));
    for (const t of ticks) expect((await api.post("/api/v1/ticks", { ticks: [t] })).status).toBe(202);
    const [order] = await until("the strategy's order", async () => {
      const orders = (await api.get(`/api/v1/orders?strategy_id=${id}`)).body.orders;
      return orders.length > 0 && orders[0].status !== "PENDING" ? orders : undefined;
    }, 20_000);
    expect(order).toMatchObject({ side: "BUY", instrument_token: SBIN, status: "REJECTED", reason_code: "MARKET_CLOSED" });
    expect(order.message).toContain(`NSE is closed (Sunday); it opens ${loadCalendar(calendarFile).nextOpen("NSE", sunday + 2_000).ist}`);
  }, 60_000);
});
