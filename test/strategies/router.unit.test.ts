import { describe, expect, test } from "bun:test";
import type { Tick } from "../../src/events/payloads.ts";
import { StrategyConfigError, StrategyRouter, type RoutedSignal, type StrategyRow } from "../../src/strategies/index.ts";
import type { Strategy as StoredStrategy } from "../../src/store/strategies.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { INFY, RELIANCE, TCS, ticksOf } from "./ticks.ts";

// The store's rows go straight into the router: this fails to compile if the shapes drift apart.
export const rowFromStore = (s: StoredStrategy): StrategyRow => s;

const momentumRow = (over: Partial<StrategyRow> = {}): StrategyRow => ({
  id: "mom",
  kind: "momentum",
  params: { lookback: 1, threshold_bps: 50, quantity: 1 },
  instruments: [RELIANCE, TCS],
  brokers: ["paper"],
  enabled: true,
  ...over,
});

const reversionRow = (over: Partial<StrategyRow> = {}): StrategyRow => ({
  id: "mr",
  kind: "mean_reversion",
  params: { window: 4, entry_z: 1.5, exit_z: 0.5, quantity: 1 },
  instruments: [TCS, INFY],
  brokers: ["paper", "zerodha"],
  enabled: true,
  ...over,
});

const routerWith = (...rows: StrategyRow[]) => {
  const r = new StrategyRouter({ lotSize: (token) => NSE_MASTER.byToken(token)?.lot_size });
  for (const row of rows) r.upsert(row);
  return r;
};

const feed = (r: StrategyRouter, ticks: Tick[]): RoutedSignal[] => ticks.flatMap((t) => r.onTick(t));

/** A rise of 1% tick over tick: momentum with lookback 1 buys on the second tick. */
const rise = (token: number) => ticksOf(token, [100_000, 101_000, 102_000]);
const fall = (token: number) => ticksOf(token, [102_000, 100_000]);

describe("routing", () => {
  test("given two strategies, when ticks arrive, then only the strategies that want the instrument run", () => {
    const r = routerWith(momentumRow(), reversionRow());
    expect(r.strategiesFor(RELIANCE)).toEqual(["mom"]);
    expect(r.strategiesFor(TCS)).toEqual(["mom", "mr"]);
    expect(r.strategiesFor(INFY)).toEqual(["mr"]);
    expect(r.strategiesFor(424961)).toEqual([]);

    const out = feed(r, rise(RELIANCE));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ strategy_id: "mom", brokers: ["paper"], signal: { side: "BUY", instrument_token: RELIANCE } });
    expect(r.stateOf("mr", RELIANCE)).toBeUndefined();
  });

  test("each signal carries the brokers its strategy trades for", () => {
    const r = routerWith(reversionRow({ id: "mr", instruments: [INFY] }));
    const out = feed(r, ticksOf(INFY, [100_000, 100_200, 100_000, 100_200, 99_000]));
    expect(out.map((o) => o.brokers)).toEqual([["paper", "zerodha"]]);
  });

  test("an instrument no strategy wants costs nothing and yields nothing", () => {
    expect(feed(routerWith(momentumRow()), rise(INFY))).toEqual([]);
  });

  test("the same ticks through a fresh router give the same signal ids", () => {
    const ticks = [...rise(RELIANCE), ...fall(RELIANCE), ...rise(TCS), ...rise(RELIANCE)];
    const ids = (r: StrategyRouter) => feed(r, ticks).map((o) => o.signal.signal_id);
    const first = ids(routerWith(momentumRow(), reversionRow()));
    expect(first).toEqual([`mom:${RELIANCE}:1`, `mom:${RELIANCE}:2`, `mom:${TCS}:1`, `mom:${RELIANCE}:3`]);
    expect(ids(routerWith(momentumRow(), reversionRow()))).toEqual(first);
  });
});

describe("changes at run time", () => {
  test("given a long strategy, when its params change, then its state resets but its ids go on", () => {
    const r = routerWith(momentumRow());
    feed(r, rise(RELIANCE));
    expect(r.stateOf("mom", RELIANCE)).toMatchObject({ seq: 1, position: 1 });

    r.upsert(momentumRow({ params: { lookback: 1, threshold_bps: 60, quantity: 1 } }));
    expect(r.stateOf("mom", RELIANCE)).toMatchObject({ seq: 1, position: 0, model: { prices: [] } });
    const out = feed(r, rise(RELIANCE));
    expect(out.map((o) => o.signal.signal_id)).toEqual([`mom:${RELIANCE}:2`]);
  });

  test("given the same params, when upserted again (other brokers), then the state is kept", () => {
    const r = routerWith(momentumRow());
    feed(r, rise(RELIANCE));
    r.upsert(momentumRow({ brokers: ["zerodha"] }));
    expect(r.stateOf("mom", RELIANCE)).toMatchObject({ seq: 1, position: 1 });
    expect(feed(r, fall(RELIANCE))[0]).toMatchObject({ brokers: ["zerodha"], signal: { side: "SELL" } });
  });

  test("when the instruments change, then ticks are re-routed", () => {
    const r = routerWith(momentumRow());
    r.upsert(momentumRow({ instruments: [INFY] }));
    expect(r.strategiesFor(RELIANCE)).toEqual([]);
    expect(r.strategiesFor(TCS)).toEqual([]);
    expect(r.strategiesFor(INFY)).toEqual(["mom"]);
    expect(feed(r, rise(RELIANCE))).toEqual([]);
    expect(feed(r, rise(INFY))).toHaveLength(1);
  });

  test("when a strategy is disabled (either way), then it gets no more ticks; enabling it again starts fresh", () => {
    const r = routerWith(momentumRow(), reversionRow());
    feed(r, rise(RELIANCE));
    expect(r.disable("mom")).toBe(true);
    expect(r.disable("mom")).toBe(false);
    expect(r.strategiesFor(TCS)).toEqual(["mr"]);
    expect(feed(r, fall(RELIANCE))).toEqual([]);

    r.upsert(momentumRow({ enabled: true }));
    expect(r.stateOf("mom", RELIANCE)).toMatchObject({ seq: 1, position: 0 });
    expect(feed(r, rise(RELIANCE)).map((o) => o.signal.signal_id)).toEqual([`mom:${RELIANCE}:2`]);

    r.upsert(reversionRow({ enabled: false }));
    expect(r.strategiesFor(TCS)).toEqual(["mom"]);
  });

  test("given a bad row, when upserted, then every problem is named and nothing changes", () => {
    const r = routerWith(momentumRow());
    let err: unknown;
    try {
      r.upsert(momentumRow({ instruments: [RELIANCE, -4], params: { lookback: 0, threshold_bps: 50, quantity: 1 } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StrategyConfigError);
    expect((err as StrategyConfigError).problems.map((p) => p.path)).toEqual(["instruments.1", "params.lookback"]);
    expect(r.strategiesFor(TCS)).toEqual(["mom"]);
    expect(r.rows()[0]!.params).toMatchObject({ lookback: 1 });
  });

  test("a snapshot restored into a new router continues where the old one stopped", () => {
    const a = routerWith(momentumRow());
    feed(a, rise(RELIANCE));
    const saved = JSON.parse(JSON.stringify(a.snapshot()));

    const b = routerWith(momentumRow());
    b.restore(saved);
    const c = routerWith(momentumRow({ params: { lookback: 2, threshold_bps: 50, quantity: 1 } }));
    c.restore(saved);

    expect(feed(b, fall(RELIANCE)).map((o) => o.signal.signal_id)).toEqual([`mom:${RELIANCE}:2`]);
    // Other params: the position is forgotten, the sequence is not.
    expect(c.stateOf("mom", RELIANCE)).toMatchObject({ seq: 1, position: 0 });
  });
});

test("micro-check: 100k ticks over 1000 instruments and 3 strategies each", () => {
  const tokens = Array.from({ length: 1000 }, (_, i) => 1_000_000 + i);
  const r = new StrategyRouter({ lotSize: () => 1 });
  for (let s = 0; s < 4; s++) {
    const mine = tokens.filter((_, i) => i % 4 !== s);
    r.upsert(momentumRow({ id: `mom_${s}`, instruments: mine, params: { lookback: 10 + s, threshold_bps: 20, quantity: 1 } }));
  }
  // Deterministic prices: a slow wave per instrument, so some strategies trade.
  const ticks: Tick[] = Array.from({ length: 100_000 }, (_, n) => ({
    instrument_token: tokens[n % 1000]!,
    last_price: 100_000 + 5 * Math.round(200 * Math.sin(n / 7_000 + (n % 1000))),
    exchange_ts: "2025-01-06T03:45:00.000Z",
    feed: "bench",
  }));
  const start = performance.now();
  let signals = 0;
  for (const t of ticks) signals += r.onTick(t).length;
  const ms = performance.now() - start;
  console.log(`routed ${ticks.length} ticks (3 strategies each) in ${ms.toFixed(1)} ms: ${Math.round(ticks.length / (ms / 1000))} ticks/s, ${signals} signals`);
  expect(signals).toBeGreaterThan(0);
});
