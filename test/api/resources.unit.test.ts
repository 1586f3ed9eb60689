/**
 * Portfolios, trades, strategies, risk, instruments and ticks over the fake services: the happy
 * path of each route, money as decimal strings (negative P&L too), and their 404s and 422s.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  instrumentListResponse,
  portfolioListResponse,
  portfolioResponse,
  positionsResponse,
  riskResponse,
  strategyListResponse,
  strategyResponse,
  ticksResponse,
  tradesResponse,
} from "../../gateway/api/schemas.ts";
import { NIFTY_FUT } from "./fake-services.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

const paths = (r: { json: any }) => (r.json.error.details as Array<{ path: string }>).map((d) => d.path).sort();

describe("portfolios and trades", () => {
  test("GET /portfolios lists every active broker, money as strings, negative P&L signed", async () => {
    h.services.activeBrokers = ["paper", "zerodha"];
    try {
      const r = await h.call("GET", "/api/v1/portfolios", { key: h.readKey });
      expect(r.status).toBe(200);
      const { portfolios } = portfolioListResponse.parse(r.json);
      expect(portfolios.map((p) => p.broker)).toEqual(["paper", "zerodha"]);
      expect(portfolios[0]).toMatchObject({ cash: "987543.21", realised_pnl: "-12.50", unrealised_pnl: "40.05", fees: "23.60" });
      expect(portfolios[1]).toMatchObject({ cash: "0.00", positions: [] });
    } finally {
      h.services.activeBrokers = ["paper"];
    }
  });

  test("GET /portfolios/:broker and its positions", async () => {
    const one = await h.call("GET", "/api/v1/portfolios/paper", { key: h.readKey });
    expect(one.status).toBe(200);
    expect(portfolioResponse.parse(one.json).portfolio.positions[0]).toEqual({
      strategy_id: "momentum_fast",
      instrument_token: 738561,
      quantity: 10,
      average_price: "2451.35",
      last_price: "2455.35",
      realised_pnl: "-12.50",
      unrealised_pnl: "40.05",
      fees: "23.60",
    });
    const pos = await h.call("GET", "/api/v1/portfolios/paper/positions", { key: h.readKey });
    expect(positionsResponse.parse(pos.json)).toMatchObject({ broker: "paper", positions: [{ quantity: 10 }] });
    expect((await h.call("GET", "/api/v1/portfolios/zerodha")).status).toBe(404);
    expect((await h.call("GET", "/api/v1/portfolios/nope/positions")).json.error.message).toContain('unknown broker "nope"');
  });

  test("GET /trades: newest first, limited, prices and fees as strings", async () => {
    const r = await h.call("GET", "/api/v1/trades?broker=paper&limit=1", { key: h.readKey });
    expect(r.status).toBe(200);
    expect(tradesResponse.parse(r.json).trades).toEqual([expect.objectContaining({ fill_id: "f2", price: "2450.00", fees: "11.80", quantity: 5 })]);
    const all = await h.call("GET", "/api/v1/trades");
    expect(all.json.trades.map((t: { fill_id: string }) => t.fill_id)).toEqual(["f2", "f1"]);
    expect(paths(await h.call("GET", "/api/v1/trades?limit=0"))).toEqual(["limit"]);
  });
});

describe("strategies", () => {
  test("list, create (201), patch, and their errors", async () => {
    const list = await h.call("GET", "/api/v1/strategies", { key: h.readKey });
    expect(strategyListResponse.parse(list.json).strategies.map((s) => s.id)).toContain("momentum_fast");

    const params = { lookback: 5, threshold_bps: 10, quantity: 1 };
    const created = await h.call("POST", "/api/v1/strategies", { body: { id: "breakout_1", kind: "momentum", params, instruments: [738561] } });
    expect(created.status).toBe(201);
    expect(strategyResponse.parse(created.json).strategy).toMatchObject({ id: "breakout_1", brokers: ["paper"], enabled: true, params: { lookback: 5 } });

    const dup = await h.call("POST", "/api/v1/strategies", { body: { id: "breakout_1", kind: "momentum", params } });
    expect(dup.status).toBe(409);

    const bad = await h.call("POST", "/api/v1/strategies", { body: { id: "Bad Id", kind: "momentum", brokers: ["paper", "nyse"], enabled: "yes" } });
    expect(bad.status).toBe(422);
    expect(paths(bad)).toEqual(["brokers.1", "enabled", "id"]);

    const unknownInst = await h.call("POST", "/api/v1/strategies", { body: { id: "x1", kind: "momentum", params, instruments: [738561, 42] } });
    expect(paths(unknownInst)).toEqual(["instruments.1"]);
    expect(unknownInst.json.error.message).toContain("instruments.1: unknown instrument 42");

    const patched = await h.call("PATCH", "/api/v1/strategies/breakout_1", { body: { enabled: false } });
    expect(patched.status).toBe(200);
    expect(patched.json.strategy).toMatchObject({ id: "breakout_1", enabled: false });
    expect((await h.call("PATCH", "/api/v1/strategies/nope", { body: { enabled: false } })).status).toBe(404);
    const empty = await h.call("PATCH", "/api/v1/strategies/breakout_1", { body: {} });
    expect(empty.status).toBe(422);
    expect(empty.json.error.message).toContain("must change at least one field");
  });

  test("kinds and their params are checked where they come in, each problem named", async () => {
    const unknownKind = await h.call("POST", "/api/v1/strategies", { body: { id: "k1", kind: "breakout", params: {} } });
    expect(unknownKind.status).toBe(422);
    expect(paths(unknownKind)).toEqual(["kind"]);
    expect(unknownKind.json.error.message).toContain("must be a strategy kind: momentum, mean_reversion");
    const badParams = await h.call("POST", "/api/v1/strategies", { body: { id: "k2", kind: "momentum", params: { lookback: 0, threshold_bps: 10, quantity: 1, typo: 1 } } });
    expect(paths(badParams)).toEqual(["params.lookback", "params.typo"]);
    const noParams = await h.call("POST", "/api/v1/strategies", { body: { id: "k3", kind: "mean_reversion" } });
    expect(paths(noParams)).toEqual(["params.entry_z", "params.exit_z", "params.quantity", "params.window"]);
    const patchFitsNone = await h.call("PATCH", "/api/v1/strategies/momentum_fast", { body: { params: { nope: 1 } } });
    expect(paths(patchFitsNone)).toEqual(["params"]);
    const patchWrongKind = await h.call("PATCH", "/api/v1/strategies/momentum_fast", { body: { kind: "mean_reversion", params: { lookback: 5, threshold_bps: 10, quantity: 1 } } });
    expect(patchWrongKind.status).toBe(422);
  });
});

describe("risk", () => {
  test("GET limits: money limits as strings, fractions and counts as numbers", async () => {
    const r = await h.call("GET", "/api/v1/risk/paper/limits", { key: h.readKey });
    expect(r.status).toBe(200);
    expect(riskResponse.parse(r.json).risk).toEqual({
      broker: "paper",
      state: "ACTIVE",
      limits: { max_order_quantity: 1000, max_order_notional: "1000000.00", price_band_fraction: 0.05, max_daily_loss: "50000.00" },
    });
    expect((await h.call("GET", "/api/v1/risk/zerodha/limits")).status).toBe(404);
  });

  test("PUT limits converts rupees to paise for the services and names each bad field", async () => {
    const r = await h.call("PUT", "/api/v1/risk/paper/limits", { body: { max_daily_loss: "25000.50", price_band_fraction: 0.1 } });
    expect(r.status).toBe(200);
    expect(r.json.risk.limits).toMatchObject({ max_daily_loss: "25000.50", price_band_fraction: 0.1 });
    expect((await h.services.risk.get("paper")).limits.max_daily_loss).toBe(2_500_050);

    const bad = await h.call("PUT", "/api/v1/risk/paper/limits", {
      body: { max_daily_loss: 25000, price_band_fraction: 1.5, max_order_quantity: -1, max_orders: 3 },
    });
    expect(bad.status).toBe(422);
    expect(paths(bad)).toEqual(["max_daily_loss", "max_order_quantity", "max_orders", "price_band_fraction"]);
    expect(bad.json.error.message).toContain("price_band_fraction: must be a fraction from 0 to 1, got 1.5");
  });

  test("POST state: the kill switch", async () => {
    const r = await h.call("POST", "/api/v1/risk/paper/state", { body: { state: "HALTED", reason: "manual stop" } });
    expect(r.status).toBe(200);
    expect(r.json.risk).toMatchObject({ state: "HALTED", reason: "manual stop" });
    expect(paths(await h.call("POST", "/api/v1/risk/paper/state", { body: { state: "PAUSED" } }))).toEqual(["state"]);
    expect((await h.call("POST", "/api/v1/risk/zerodha/state", { body: { state: "HALTED" } })).status).toBe(404);
  });
});

describe("instruments and ticks", () => {
  test("GET /instruments: tick sizes and prices as strings, lot sizes as integers", async () => {
    const r = await h.call("GET", "/api/v1/instruments", { key: h.readKey });
    const { instruments } = instrumentListResponse.parse(r.json);
    expect(instruments.find((i) => i.tradingsymbol === "RELIANCE")).toEqual({
      instrument_token: 738561,
      exchange: "NSE",
      tradingsymbol: "RELIANCE",
      name: "RELIANCE INDUSTRIES",
      tick_size: "0.05",
      lot_size: 1,
      reference_price: "1290.45",
    });
  });

  test("POST /ticks publishes the batch in paise with feed api (202)", async () => {
    const r = await h.call("POST", "/api/v1/ticks", {
      body: { ticks: [{ instrument_token: 738561, last_price: "1290.50", bid: "1290.45", ask: "1290.55", volume: 100, exchange_ts: "2025-01-02T09:15:00+05:30" }, { instrument_token: 2953217, last_price: "4120.05" }] },
    });
    expect(r.status).toBe(202);
    expect(ticksResponse.parse(r.json)).toEqual({ accepted: 2 });
    const batch = h.services.published.at(-1)!;
    expect(batch[0]).toMatchObject({ instrument_token: 738561, last_price: 129_050, bid: 129_045, ask: 129_055, volume: 100, exchange_ts: "2025-01-02T03:45:00.000Z", feed: "api" });
    expect(batch[1]!.exchange_ts).toMatch(/Z$/);
  });

  test("each tick is checked: unknown instrument, off-grid price, number price, too many", async () => {
    const before = h.services.published.length;
    const r = await h.call("POST", "/api/v1/ticks", {
      body: { ticks: [{ instrument_token: 1, last_price: "10.00" }, { instrument_token: NIFTY_FUT.instrument_token, last_price: "23450.01" }] },
    });
    expect(paths(r)).toEqual(["ticks.0.instrument_token", "ticks.1.last_price"]);
    expect(paths(await h.call("POST", "/api/v1/ticks", { body: { ticks: [{ instrument_token: 738561, last_price: 1290.5 }] } }))).toEqual(["ticks.0.last_price"]);
    const many = Array.from({ length: 1001 }, () => ({ instrument_token: 738561, last_price: "1290.50" }));
    expect(paths(await h.call("POST", "/api/v1/ticks", { body: { ticks: many } }))).toEqual(["ticks"]);
    expect(paths(await h.call("POST", "/api/v1/ticks", { body: { ticks: [] } }))).toEqual(["ticks"]);
    expect(h.services.published.length).toBe(before);
  });
});
