import { describe, expect, test } from "bun:test";
import { AlphaError } from "../../src/errors.ts";
import { tickSchema } from "../../src/events/payloads.ts";
import { NSE_INSTRUMENTS, NSE_MASTER, instrumentMaster, type Instrument } from "../../src/market/instruments.ts";
import { parseReplay, replayDelayMs } from "../../src/market/replay.ts";
import { RandomWalk } from "../../src/market/simulated.ts";

describe("simulated market", () => {
  const at = (i: number) => new Date(Date.UTC(2026, 10, 23, 3, 45, 0, i * 250));

  test("the same seed gives the same prices; another seed does not", () => {
    const run = (seed: number) => {
      const m = new RandomWalk(NSE_INSTRUMENTS, seed);
      return Array.from({ length: 200 }, (_, i) => m.step(at(i)).map((t) => [t.instrument_token, t.last_price]));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  test("every price is positive, on the instrument's tick grid, and a valid tick payload", () => {
    const m = new RandomWalk(NSE_INSTRUMENTS, 7);
    let count = 0;
    for (let i = 0; i < 2_000; i++) {
      for (const t of m.step(at(i))) {
        const inst = NSE_MASTER.byToken(t.instrument_token)!;
        expect(t.last_price).toBeGreaterThan(0);
        expect(t.last_price % inst.tick_size).toBe(0);
        expect(t.bid! < t.last_price && t.last_price < t.ask!).toBe(true);
        tickSchema.parse(t);
        count++;
      }
    }
    expect(count).toBeGreaterThan(2_000 * NSE_INSTRUMENTS.length * 0.7);
  });

  test("prices wander but stay in a realistic range over a trading day's worth of steps", () => {
    const m = new RandomWalk(NSE_INSTRUMENTS, 1);
    let last = new Map<number, number>();
    for (let i = 0; i < 22_500; i++) for (const t of m.step(at(i))) last.set(t.instrument_token, t.last_price);
    for (const inst of NSE_INSTRUMENTS) {
      const ratio = last.get(inst.instrument_token)! / inst.reference_price;
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    }
  });
});

describe("instrument master", () => {
  test("tokens and symbols are unique and look up both ways", () => {
    expect(new Set(NSE_INSTRUMENTS.map((i) => i.instrument_token)).size).toBe(NSE_INSTRUMENTS.length);
    expect(NSE_MASTER.bySymbol("NSE", "RELIANCE")?.instrument_token).toBe(738561);
    expect(NSE_MASTER.byToken(2953217)?.tradingsymbol).toBe("TCS");
    expect(NSE_MASTER.byToken(1)).toBeUndefined();
  });

  test("given a list, when a master is made of it, then it answers for that list alone, whatever happens to the list later", () => {
    const future: Instrument = { instrument_token: 13_238_786, exchange: "NFO", tradingsymbol: "NIFTY26DECFUT", name: "NIFTY", tick_size: 10, lot_size: 75, reference_price: 2_612_000 };
    const list = [future];
    const master = instrumentMaster(list);
    list.push(NSE_INSTRUMENTS[0]!);

    expect(master.all()).toEqual([future]);
    expect(master.bySymbol("NFO", "NIFTY26DECFUT")?.lot_size).toBe(75);
    expect(master.byToken(738561)).toBeUndefined();
    // Another master is another value: the built-in one does not know the future.
    expect(NSE_MASTER.byToken(13_238_786)).toBeUndefined();
    const { byToken } = master;
    expect(byToken(13_238_786)).toBe(future);
  });
});

describe("replay file", () => {
  const file = [
    "# recorded 2026-11-20",
    '{"instrument_token":738561,"last_price":129045,"exchange_ts":"2026-11-20T03:45:00.000Z"}',
    "",
    '{"instrument_token":738561,"last_price":129050,"exchange_ts":"2026-11-20T03:45:01.500Z"}',
  ].join("\n");

  test("parses ticks, skipping comments and blank lines", () => {
    const ticks = [...parseReplay(file, "day.jsonl")];
    expect(ticks.map((t) => t.last_price)).toEqual([129045, 129050]);
    expect(ticks[0]!.feed).toBe("replay");
  });

  test("paces by the recorded timestamps, scaled by speed", () => {
    const [a, b] = [...parseReplay(file, "day.jsonl")];
    expect(replayDelayMs(undefined, a!, 1)).toBe(0);
    expect(replayDelayMs(a, b!, 1)).toBe(1500);
    expect(replayDelayMs(a, b!, 10)).toBe(150);
    expect(replayDelayMs(a, b!, 0)).toBe(0);
  });

  test("a bad line stops the replay with its line number and the field", () => {
    const bad = '{"instrument_token":738561,"last_price":1290.45,"exchange_ts":"2026-11-20T03:45:00.000Z"}';
    const err = (() => {
      try {
        [...parseReplay(`${file}\n${bad}`, "day.jsonl")];
      } catch (e) {
        return e as AlphaError;
      }
    })();
    expect(err?.code).toBe("PAYLOAD_INVALID");
    expect(err?.message).toContain("day.jsonl:5");
    expect(err?.message).toContain("last_price");
    expect(() => [...parseReplay("{oops", "x.jsonl")]).toThrow("x.jsonl:1: not JSON");
  });
});
