import { describe, expect, test } from "bun:test";
import { StrategyConfigError, createStrategy, toLots, type InstrumentState, type Signal, type Strategy } from "../../src/strategies/index.ts";
import { RELIANCE, ticksOf } from "./ticks.ts";

/** Runs a strategy over prices; the signals, each with the index of the tick that raised it. */
function run(s: Strategy, prices: number[], lotSize = 1): { at: number; signal: Signal }[] {
  let state: InstrumentState = s.initial();
  const out: { at: number; signal: Signal }[] = [];
  ticksOf(RELIANCE, prices).forEach((tick, at) => {
    const step = s.step(state, tick, lotSize);
    state = step.state;
    for (const signal of step.signals) out.push({ at, signal });
  });
  return out;
}

const problems = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StrategyConfigError);
    return (err as StrategyConfigError).problems;
  }
  throw new Error("expected a StrategyConfigError");
};

describe("momentum", () => {
  const s = createStrategy("mom", "momentum", { lookback: 3, threshold_bps: 50, quantity: 10 });

  test("given a rising then falling series, when run, then one BUY entry and one SELL exit", () => {
    // Tick 3: +1% over 3 ticks (enter). Tick 7: -0.3%, inside the band (hold). Tick 8: -1% (exit).
    const prices = [100_000, 100_200, 100_500, 101_000, 101_100, 101_200, 101_300, 100_800, 100_200, 99_700];
    const signals = run(s, prices);
    expect(signals.map(({ at, signal }) => [at, signal.side, signal.quantity])).toEqual([
      [3, "BUY", 10],
      [8, "SELL", 10],
    ]);
    const entry = signals[0]!.signal;
    expect(entry).toMatchObject({
      signal_id: `mom:${RELIANCE}:1`,
      strategy_id: "mom",
      instrument_token: RELIANCE,
      order_type: "MARKET",
      reference_price: 101_000,
    });
    expect(entry.reason).toContain("bps");
    expect(signals[1]!.signal.signal_id).toBe(`mom:${RELIANCE}:2`);
  });

  test("given a long position, when momentum stays up, then no further signals", () => {
    const prices = Array.from({ length: 30 }, (_, i) => 100_000 + i * 1_000);
    expect(run(s, prices)).toHaveLength(1);
  });

  test("given allow_short, when it falls from long, then one SELL of two positions flips it short", () => {
    const short = createStrategy("mom", "momentum", { lookback: 1, threshold_bps: 50, quantity: 5, allow_short: true });
    const signals = run(short, [100_000, 101_000, 99_000]);
    expect(signals.map(({ signal }) => [signal.side, signal.quantity])).toEqual([
      ["BUY", 5],
      ["SELL", 10],
    ]);
  });

  test("quantity is whole lots, at least one", () => {
    expect(toLots(130, 50)).toBe(100);
    expect(toLots(10, 50)).toBe(50);
    expect(toLots(7, 1)).toBe(7);
    const signals = run(s, [100_000, 100_000, 100_000, 102_000], 4);
    expect(signals[0]!.signal.quantity).toBe(8);
  });

  test("the same ticks give the same signals and ids", () => {
    const prices = [100_000, 101_000, 102_000, 103_000, 101_000, 99_000, 98_000, 101_000, 104_000];
    expect(run(s, prices)).toEqual(run(s, prices));
  });
});

describe("mean reversion", () => {
  const s = createStrategy("mr", "mean_reversion", { window: 4, entry_z: 1.5, exit_z: 0.5, quantity: 2 });

  test("given an oscillating series with spikes, when run, then it buys the dip, closes, sells the spike, closes", () => {
    const calm = [100_000, 100_200, 100_000, 100_200];
    const calm2 = [100_200, 100_000, 100_200, 100_000, 100_200, 100_000, 100_200, 100_000];
    const prices = [...calm, 99_000, 100_000, ...calm2, 101_200, 100_000];
    //               0-3      4 dip   5 back    6-13    14 spike 15 back
    expect(run(s, prices).map(({ at, signal }) => [at, signal.side, signal.quantity])).toEqual([
      [4, "BUY", 2],
      [5, "SELL", 2],
      [14, "SELL", 2],
      [15, "BUY", 2],
    ]);
  });

  test("given a flat window, when the price stays, then nothing (no z-score without spread)", () => {
    expect(run(s, Array(20).fill(100_000))).toEqual([]);
  });

  test("given allow_short false, when the price spikes, then it does not sell short", () => {
    const longOnly = createStrategy("mr", "mean_reversion", { window: 4, entry_z: 1.5, exit_z: 0.5, quantity: 2, allow_short: false });
    expect(run(longOnly, [100_000, 100_200, 100_000, 100_200, 101_200])).toEqual([]);
  });
});

describe("params", () => {
  test("a bad value is named with the field and what it was", () => {
    const [p, ...rest] = problems(() => createStrategy("mom", "momentum", { lookback: 0, threshold_bps: 15, quantity: 1 }));
    expect(rest).toEqual([]);
    expect(p!.path).toBe("params.lookback");
    expect(p!.message).toContain("got 0");
  });

  test("every problem is listed, missing fields and typos too", () => {
    const ps = problems(() => createStrategy("mr", "mean_reversion", { windw: 50, entry_z: -2, exit_z: 0.5, quantity: 1.5 }));
    expect(ps.map((p) => p.path).sort()).toEqual(["params.entry_z", "params.quantity", "params.window", "params.windw"]);
  });

  test("exit_z must be below entry_z", () => {
    const ps = problems(() => createStrategy("mr", "mean_reversion", { window: 5, entry_z: 1, exit_z: 2, quantity: 1 }));
    expect(ps).toEqual([{ path: "params.exit_z", message: "must be below entry_z (1), got 2" }]);
  });

  test("an unknown kind is named, even one found on Object.prototype", () => {
    for (const kind of ["pairs", "toString"]) {
      const ps = problems(() => createStrategy("x", kind, {}));
      expect(ps[0]!.path).toBe("kind");
      expect(ps[0]!.message).toContain("momentum");
    }
  });

  test("the error message lists the strategy and each field", () => {
    try {
      createStrategy("momentum_fast", "momentum", { lookback: -1, threshold_bps: 0, quantity: 1 });
      throw new Error("unreachable");
    } catch (err) {
      expect((err as Error).message).toContain('strategy "momentum_fast"');
      expect((err as Error).message).toContain("params.lookback");
      expect((err as Error).message).toContain("params.threshold_bps");
    }
  });
});
