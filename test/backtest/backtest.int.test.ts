/**
 * `bun run backtest` end to end on small files: the outputs, their determinism, the report's
 * numbers against a hand calculation, and the CLI's exit codes. Each run opens its own embedded
 * database (in memory): no service needed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBacktest } from "../../src/backtest/index.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const dir = mkdtempSync(join(tmpdir(), "alpha-backtest-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const root = new URL("../..", import.meta.url).pathname;

/** A deterministic random walk over the seeded strategies' instruments, in the replay format. */
function walk(n: number): string {
  let seed = 7;
  const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff;
  const px = new Map([
    [738561, 129_045],
    [2953217, 412_005],
    [408065, 188_520],
    [341249, 174_330],
    [1270529, 129_810],
    [779521, 81_265],
  ]);
  const tokens = [...px.keys()];
  const lines: string[] = [];
  const t0 = Date.parse("2026-12-07T03:45:00.000Z");
  for (let k = 0; k < n; k++) {
    const token = tokens[k % tokens.length]!;
    const p = Math.max(5, Math.round((px.get(token)! * (1 + (rnd() - 0.5) * 0.006)) / 5) * 5);
    px.set(token, p);
    lines.push(JSON.stringify({ instrument_token: token, last_price: p, exchange_ts: new Date(t0 + Math.floor(k / tokens.length) * 1000).toISOString() }));
  }
  return lines.join("\n") + "\n";
}

const read = (d: string, f: string) => readFileSync(join(d, f), "utf8");
const withoutRun = (d: string) => {
  const r = JSON.parse(read(d, "report.json"));
  delete r.run;
  return r;
};

describe("determinism", () => {
  test("the same file twice gives byte-identical fills.jsonl, orders.jsonl, equity.csv, report.html, and report.json but for its run object", async () => {
    const file = join(dir, "walk.jsonl");
    writeFileSync(file, walk(3_000));
    // The rate limit is raised so that the wall clock cannot decide (risk still reads it on this
    // branch); the day's order cap makes the rejections.
    const limits = join(dir, "limits.json");
    writeFileSync(limits, JSON.stringify({ max_orders_per_second: 1_000_000, max_orders_per_strategy_per_day: 20 }));
    const a = join(dir, "a");
    const b = join(dir, "b");
    await runBacktest({ file, out: a, limitsFile: limits });
    await runBacktest({ file, out: b, limitsFile: limits });
    for (const f of ["fills.jsonl", "orders.jsonl", "equity.csv", "report.html"]) expect(read(b, f)).toBe(read(a, f));
    expect(withoutRun(b)).toEqual(withoutRun(a));
    expect(JSON.stringify(withoutRun(a))).toBe(JSON.stringify(withoutRun(b)));

    // It made fills and rejections: both are in what is compared.
    const report = withoutRun(a);
    expect(report.total.fills).toBe(40);
    expect(report.total.rejections.MAX_ORDERS_PER_DAY).toBeGreaterThan(0);
    expect(Object.keys(report.strategies)).toEqual(["mean_reversion_bank", "momentum_fast"]);
    const fills = read(a, "fills.jsonl").trim().split("\n").map((l) => JSON.parse(l));
    expect(fills).toHaveLength(40);
    expect(Object.keys(fills[0])).toEqual(["ts", "order_id", "fill_id", "strategy_id", "instrument_token", "tradingsymbol", "side", "quantity", "price", "fees"]);
    expect(fills[0].price).toMatch(/^\d+\.\d\d$/);
    // Event time: the fills' times are the file's, not today's.
    expect(fills.every((f) => f.ts.startsWith("2026-12-07T03:"))).toBe(true);
    const orders = read(a, "orders.jsonl").trim().split("\n").map((l) => JSON.parse(l));
    expect(orders.filter((o) => o.status === "FILLED")).toHaveLength(40);
    expect(orders.filter((o) => o.status === "REJECTED").every((o) => o.reason_code === "MAX_ORDERS_PER_DAY")).toBe(true);
    expect(orders.length).toBe(report.total.signals);
  });
});

describe("the report on a hand-checked file", () => {
  // One strategy, RELIANCE only: up 1% → buy 10; down → sell them; twice.
  const ticks = ["1000.00", "1010.00", "1050.00", "1040.00", "1050.00", "1040.00"].map((p, i) => `2026-12-07 09:15:0${i},RELIANCE,${p}`);

  test("two round trips: fills at the slipped price, fees by the schedule, realised P&L, win rate, turnover and drawdown", async () => {
    const file = join(dir, "hand.csv");
    writeFileSync(file, ["timestamp,tradingsymbol,last_price", ...ticks].join("\n") + "\n");
    const strategies = join(dir, "hand-strategies.json");
    writeFileSync(strategies, JSON.stringify([{ id: "hand", kind: "momentum", params: { lookback: 1, threshold_bps: 10, quantity: 10 }, instruments: [738561] }]));
    const out = join(dir, "hand");
    await runBacktest({ file, out, strategiesFile: strategies, cash: "1000000.00" });

    // BUY 10 at 1010.00 + 2 bps slippage, up to the 5-paise grid: 1010.25; SELL at 1040.00 − 2 bps,
    // down to the grid: 1039.75; BUY at 1050.25; SELL at 1039.75. Fees (0.03% brokerage, STT
    // 0.025% on sells, 0.00297% exchange, ₹10/crore SEBI, 0.003% stamp on buys, GST 18% on
    // brokerage + exchange + SEBI), each rounded half up: on ₹10,102.50 bought 3.03 + 0.30 + 0.01 +
    // 0.30 + 0.60 = 4.24; on ₹10,397.50 sold 3.12 + 2.60 + 0.31 + 0.01 + 0.62 = 6.66; on ₹10,502.50
    // bought 3.15 + 0.31 + 0.01 + 0.32 + 0.62 = 4.41; then 6.66 again.
    const fills = read(out, "fills.jsonl").trim().split("\n").map((l) => JSON.parse(l));
    expect(fills.map((f) => [f.ts.slice(11, 19), f.side, f.quantity, f.price, f.fees])).toEqual([
      ["03:45:01", "BUY", 10, "1010.25", "4.24"],
      ["03:45:03", "SELL", 10, "1039.75", "6.66"],
      ["03:45:04", "BUY", 10, "1050.25", "4.41"],
      ["03:45:05", "SELL", 10, "1039.75", "6.66"],
    ]);
    const r = withoutRun(out);
    expect(r.total).toEqual(r.strategies.hand);
    expect(r.total).toEqual({
      ticks: 6,
      signals: 4,
      orders: 4,
      fills: 4,
      rejections: {},
      dead_lettered: 0,
      // (1039.75 − 1010.25) × 10 + (1039.75 − 1050.25) × 10 = 295.00 − 105.00
      realised_pnl: "190.00",
      unrealised_pnl: "0.00",
      fees: "21.97",
      net_pnl: "168.03",
      turnover: "41400.00",
      open_positions: 0,
      round_trips: 2,
      winning_round_trips: 1,
      win_rate: 0.5,
      // The peak: long 10 at 1010.25 marked at 1050.00, less 4.24 fees: 1,000,393.26. The trough:
      // the end, 1,000,168.03.
      max_drawdown: "225.23",
      max_drawdown_fraction: 0.000225,
      trading_days: 1,
      sharpe: null,
      final_equity: "1000168.03",
    });
    expect(read(out, "equity.csv")).toBe("time,cash,realised,unrealised,equity\n2026-12-07T03:45:05.000Z,1000168.03,190.00,0.00,1000168.03\n");

    const html = read(out, "report.html");
    // The data is in the page (equity at each fill, paise) and it loads nothing from another host.
    expect(html).toContain('"equity":[99999326,100028410,100027719,100016803,100016803]');
    expect(html).toContain("uPlot");
    expect(html.match(/https?:\/\//g)).toBeNull();
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });
});

// Chromium comes from Debian's packages (`bun run infra:up` installs it). Without it the test is
// skipped only when REQUIRE_INFRA is unset; with REQUIRE_INFRA=1 (test:all, CI) a failing test stands in.
const chromium = Bun.which("chromium");
if (!chromium && process.env.REQUIRE_INFRA === "1") test("chromium is installed (REQUIRE_INFRA=1)", () => expect(chromium).toBeTruthy());
describe.if(Boolean(chromium))("report.html in a browser", () => {
  test("Chromium, with no network, draws the equity and drawdown charts and a row per figure, with no page error", async () => {
    const file = join(dir, "browser.jsonl");
    const out = join(dir, "browser-out");
    writeFileSync(file, walk(1_200));
    await runBacktest({ file, out });
    const run = Bun.spawnSync(
      [chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--proxy-server=127.0.0.1:9", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000", "--dump-dom", `file://${join(out, "report.html")}`],
      { stdout: "pipe", stderr: "pipe", timeout: 60_000 },
    );
    const dom = run.stdout.toString();
    // uPlot drew both charts (a canvas each) with their legends, and the summary table is filled.
    expect((dom.match(/<canvas/g) ?? []).length).toBe(2);
    expect(dom).toContain("Equity (₹), fills marked");
    expect(dom).toContain("Drawdown from the peak (₹)");
    expect(dom).toMatch(/<td>net_pnl<\/td>/);
    expect(run.stderr.toString()).not.toMatch(/Uncaught|SyntaxError|TypeError/);
  });
});

describe("the CLI", () => {
  const cli = (args: string[]) => Bun.spawnSync([process.execPath, "scripts/backtest.ts", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });

  test("bad input: exit 2, a message naming the file and the line, nothing written", () => {
    const file = join(dir, "bad.csv");
    writeFileSync(file, "timestamp,tradingsymbol,last_price\n2026-12-07 09:15:00,RELIANCE,1290.45\n2026-12-07 09:15:01,RELIANCE,1290.456\n");
    const out = join(dir, "bad-out");
    const r = cli([file, "--out", out]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain(`backtest: ${file}:3: last_price: "1290.456" is not a price in rupees with at most 2 decimals`);
    expect(existsSync(out)).toBe(false);
    const limits = join(dir, "bad-limits.json");
    writeFileSync(limits, JSON.stringify({ max_order_quantity: -1, nonsense: 1, max_daily_loss: 5000 }));
    const l = cli([file, "--limits", limits, "--out", out]);
    expect(l.exitCode).toBe(2);
    expect(l.stderr.toString()).toMatch(/--limits [\s\S]*max_daily_loss: must be rupees as a decimal string[\s\S]*max_order_quantity: must not be negative[\s\S]*nonsense: is not a known limit/);
    expect(cli([file, "--cash", "12.345"]).exitCode).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  test("Kite candles in, exit 0 and the five files out; no progress bar when stderr is not a terminal", () => {
    const file = join(dir, "INFY.csv");
    const rows = ["date,open,high,low,close,volume"];
    let p = 188_500;
    for (let i = 0; i < 60; i++) {
      const o = p;
      p += (i % 7 < 4 ? 1 : -1) * 500;
      const [hi, lo] = [Math.max(o, p) + 100, Math.min(o, p) - 100];
      const rs = (x: number) => `${Math.trunc(x / 100)}.${String(x % 100).padStart(2, "0")}`;
      rows.push(`2026-12-07T${String(9 + Math.floor((15 + i) / 60)).padStart(2, "0")}:${String((15 + i) % 60).padStart(2, "0")}:00+0530,${rs(o)},${rs(hi)},${rs(lo)},${rs(p)},1000`);
    }
    writeFileSync(file, rows.join("\n") + "\n");
    const out = join(dir, "candles-out");
    const r = cli([file, "--out", out]);
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    for (const f of ["fills.jsonl", "orders.jsonl", "equity.csv", "report.json", "report.html"]) expect(existsSync(join(out, f))).toBe(true);
    const report = JSON.parse(read(out, "report.json"));
    expect(report.input).toMatchObject({ file: "INFY.csv", format: "candles", ticks: 240 });
    // momentum_fast trades INFY among others: its ticks are counted, and it traded.
    expect(report.strategies.momentum_fast.ticks).toBe(240);
    expect(report.total.fills).toBeGreaterThan(0);
    expect(read(out, "equity.csv").trim().split("\n")).toHaveLength(61);
  });
});
