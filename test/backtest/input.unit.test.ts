import { describe, expect, test } from "bun:test";
import { BacktestInputError, parseInput } from "../../src/backtest/input.ts";
import { parseArgs, readStrategies } from "../../src/backtest/options.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const reject = (text: string, name: string, opts = {}) => {
  try {
    parseInput(text, name, NSE_MASTER, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(BacktestInputError);
    return (err as Error).message;
  }
  throw new Error("expected a BacktestInputError");
};

describe("the replay feed's JSON lines", () => {
  const text = [
    "# a recorded session",
    JSON.stringify({ instrument_token: 738561, last_price: 129_045, exchange_ts: "2026-12-07T03:45:00.000Z", feed: "simulated" }),
    "",
    JSON.stringify({ instrument_token: 2953217, last_price: 412_005, exchange_ts: "2026-12-07T03:45:01Z" }),
  ].join("\n");

  test("give their ticks in file order, each with an id from the file and its line, time-ordered by event time", () => {
    const a = parseInput(text, "s.jsonl", NSE_MASTER);
    expect(a.format).toBe("replay");
    expect(a.ticks.map((t) => t.tick.last_price)).toEqual([129_045, 412_005]);
    // The UUIDv7's time is the tick's own (2026-12-07T03:45:00Z), not the wall clock's.
    expect(parseInt(a.ticks[0]!.id.replace(/-/g, "").slice(0, 12), 16)).toBe(Date.parse("2026-12-07T03:45:00.000Z"));
    expect(parseInput(text, "other-name.jsonl", NSE_MASTER).ticks.map((t) => t.id)).toEqual(a.ticks.map((t) => t.id));
    expect(new Set(a.ticks.map((t) => t.id)).size).toBe(2);
    // Another file (one byte more) gives other ids.
    expect(parseInput(text + "\n", "s.jsonl", NSE_MASTER).ticks[0]!.id).not.toBe(a.ticks[0]!.id);
  });

  test("a bad line names the file and the line", () => {
    expect(reject(`${JSON.stringify({ instrument_token: 738561, last_price: 129_045, exchange_ts: "2026-12-07T03:45:00Z" })}\n{"instrument_token": 738561, "last_price": -5, "exchange_ts": "2026-12-07T03:45:00Z"}`, "bad.jsonl")).toMatch(
      /^bad\.jsonl:2: last_price/,
    );
    expect(reject(`{"instrument_token": 738561,\n`, "cut.jsonl")).toBe("cut.jsonl:1: not JSON");
  });
});

describe("a ticks CSV (timestamp,instrument_token|tradingsymbol,last_price[,volume])", () => {
  test("rupees become exact paise; symbols and tokens name instruments; a time without an offset is IST", () => {
    const a = parseInput("timestamp,tradingsymbol,last_price,volume\n2026-12-07 09:15:00,RELIANCE,1290.45,100\n2026-12-07T09:15:01+05:30,NSE:TCS,4120.05,\n", "t.csv", NSE_MASTER);
    expect(a.format).toBe("ticks");
    expect(a.ticks.map((t) => t.tick)).toEqual([
      { instrument_token: 738561, last_price: 129_045, exchange_ts: "2026-12-07T03:45:00.000Z", feed: "replay", volume: 100 },
      { instrument_token: 2953217, last_price: 412_005, exchange_ts: "2026-12-07T03:45:01.000Z", feed: "replay" },
    ]);
    const b = parseInput("timestamp,instrument_token,last_price\n2026-12-07T03:45:00Z,738561,1290.45\n", "t.csv", NSE_MASTER);
    expect(b.ticks[0]!.tick.last_price).toBe(129_045);
  });

  test("a price finer than a paisa, off the tick size, an unknown instrument or a bad time is refused with its line", () => {
    const head = "timestamp,tradingsymbol,last_price\n2026-12-07 09:15:00,RELIANCE,1290.45\n";
    expect(reject(head + "2026-12-07 09:15:01,RELIANCE,1290.455\n", "f.csv")).toMatch(/^f\.csv:3: last_price: "1290\.455" is not a price in rupees with at most 2 decimals/);
    expect(reject(head + "2026-12-07 09:15:01,RELIANCE,1290.46\n", "f.csv")).toBe("f.csv:3: last_price: 1290.46 is not on RELIANCE's tick size of ₹0.05");
    expect(reject(head + "2026-12-07 09:15:01,NOSUCH,10.00\n", "f.csv")).toMatch(/^f\.csv:3: tradingsymbol: "NOSUCH" is not an instrument/);
    expect(reject(head + "yesterday,RELIANCE,10.00\n", "f.csv")).toMatch(/^f\.csv:3: timestamp: "yesterday" is not a date-time/);
    expect(reject(head + "2026-12-07 09:15:01,RELIANCE\n", "f.csv")).toMatch(/^f\.csv:3: expected 3 columns/);
    expect(reject("timestamp,symbol,price\n", "h.csv")).toMatch(/^h\.csv:1: the header must be/);
  });
});

describe("Kite's candles CSV (date,open,high,low,close,volume)", () => {
  const candles = "date,open,high,low,close,volume\n2026-12-07T09:15:00+0530,1290.00,1295.00,1285.00,1292.00,100\n2026-12-07T09:16:00+0530,1292.00,1293.00,1280.00,1281.00,50\n";

  test("each candle is four ticks spread over its interval: a rising one open, low, high, close; a falling one open, high, low, close", () => {
    const a = parseInput(candles, "RELIANCE.csv", NSE_MASTER);
    expect(a.format).toBe("candles");
    expect(a.ticks.map((t) => [t.tick.exchange_ts.slice(11, 19), t.tick.last_price, t.tick.volume])).toEqual([
      ["03:45:00", 129_000, undefined],
      ["03:45:15", 128_500, undefined],
      ["03:45:30", 129_500, undefined],
      ["03:45:45", 129_200, 100],
      ["03:46:00", 129_200, undefined],
      ["03:46:15", 129_300, undefined],
      ["03:46:30", 128_000, undefined],
      ["03:46:45", 128_100, 150],
    ]);
    expect(new Set(a.ticks.map((t) => t.id)).size).toBe(8);
    expect(a.ticks.every((t) => t.tick.instrument_token === 738561)).toBe(true);
  });

  test("the instrument comes from --instrument, else the file's name; without one it says how to name it", () => {
    expect(parseInput(candles, "x.csv", NSE_MASTER, { instrument: "2953217" }).ticks[0]!.tick.instrument_token).toBe(2953217);
    expect(parseInput(candles, "/data/NSE:INFY.csv", NSE_MASTER).ticks[0]!.tick.instrument_token).toBe(408065);
    expect(reject(candles, "candles.csv")).toMatch(/named by --instrument or the file's name/);
  });

  test("a candle whose high and low do not bound it, or off the grid, is refused with its line", () => {
    expect(reject(candles + "2026-12-07T09:17:00+0530,1281.00,1280.00,1279.00,1280.50,1\n", "RELIANCE.csv")).toMatch(/^RELIANCE\.csv:4: high 1280\.00 and low 1279\.00 must bound/);
    expect(reject(candles + "2026-12-07T09:17:00+0530,1281.00,1282.01,1279.00,1280.50,1\n", "RELIANCE.csv")).toMatch(/^RELIANCE\.csv:4: high: 1282\.01 is not on RELIANCE's tick size/);
  });
});

test("an unknown format or an empty file is refused, naming the file", () => {
  expect(reject("hello,world\n", "x.txt")).toMatch(/^x\.txt: not a backtest input/);
  expect(reject("# nothing\n", "e.jsonl")).toMatch(/^e\.jsonl: not a backtest input/);
});

test("the CLI's arguments: one file, known options, each with a value", () => {
  expect(parseArgs(["f.jsonl", "--out", "o", "--cash=500000"])).toEqual({ file: "f.jsonl", out: "o", cash: "500000", strategiesFile: undefined, limitsFile: undefined, instrument: undefined });
  expect(parseArgs(["f.jsonl"]).out).toBe("./backtest-out");
  expect(() => parseArgs([])).toThrow(/no input file/);
  expect(() => parseArgs(["f", "--speed", "2"])).toThrow(/unknown option --speed/);
  expect(() => parseArgs(["f", "--out"])).toThrow(/--out needs a value/);
  expect(parseArgs(["f.jsonl", "--market-hours", "NSE"]).marketHours).toBe("nse");
  expect(parseArgs(["f.jsonl"]).marketHours).toBeUndefined();
  expect(() => parseArgs(["f", "--market-hours", "always"])).toThrow(/--market-hours must be one of nse, off, got "always"/);
});

test("--strategies: the API's shape with its defaults, every problem of every strategy in one message", () => {
  const dir = mkdtempSync(join(tmpdir(), "alpha-strategies-"));
  const good = join(dir, "good.json");
  writeFileSync(good, JSON.stringify([{ id: "m", kind: "momentum", params: { lookback: 2, threshold_bps: 5, quantity: 1 }, instruments: [738561] }]));
  expect(readStrategies(good)).toEqual([{ id: "m", kind: "momentum", params: { lookback: 2, threshold_bps: 5, quantity: 1 }, instruments: [738561], brokers: ["paper"], enabled: true }]);
  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify([{ id: "Bad Id", kind: "momentum", params: { lookback: 0, threshold_bps: 5, quantity: 1 } }, { id: "z", kind: "momentum", params: { lookback: 2, threshold_bps: 5, quantity: 1 }, brokers: ["zerodha"], colour: "red" }]));
  let message = "";
  try {
    readStrategies(bad);
  } catch (err) {
    expect(err).toBeInstanceOf(BacktestInputError);
    message = (err as Error).message;
  }
  expect(message).toContain("[0].id: must be lower case letters");
  expect(message).toContain("[0].params.lookback");
  expect(message).toContain("[1]: unknown field colour");
  expect(message).toContain('[1].brokers: the backtest runs the paper broker only; include "paper"');
});
