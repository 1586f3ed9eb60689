/**
 * A backtest of one day with NSE hours (`--market-hours nse`): an intraday position opened in the
 * morning is flat at 15:21 IST of that day by the file's time, the square-off order and its fill
 * are in the outputs, and the same run twice gives the same outputs. Without NSE hours (the
 * default) the position is held to the end, as before. Embedded database in memory: no service.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBacktest } from "../../src/backtest/index.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const dir = mkdtempSync(join(tmpdir(), "alpha-backtest-dayend-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const read = (d: string, f: string) => readFileSync(join(d, f), "utf8");
const lines = (d: string, f: string) => read(d, f).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

// Monday 7 December 2026, IST (no offset in the file: NSE's time). Up 1% at 09:15:01 → the
// momentum strategy buys 10 (no product: MIS); flat from then on, so it sends nothing more.
const TIMES = ["09:15:00", "09:15:01", "11:00:00", "15:19:59", "15:20:00", "15:21:00", "15:25:00", "15:29:00"];
const PRICES = ["1000.00", "1010.00", "1010.00", "1010.00", "1010.00", "1010.00", "1010.00", "1010.00"];
const ist = (hhmmss: string) => new Date(Date.parse(`2026-12-07T${hhmmss}+05:30`)).toISOString();

describe("the day's end in a backtest", () => {
  const file = join(dir, "day.csv");
  writeFileSync(file, ["timestamp,tradingsymbol,last_price", ...TIMES.map((t, i) => `2026-12-07 ${t},RELIANCE,${PRICES[i]}`)].join("\n") + "\n");
  const strategies = join(dir, "strategies.json");
  writeFileSync(strategies, JSON.stringify([{ id: "hand", kind: "momentum", params: { lookback: 1, threshold_bps: 10, quantity: 10 }, instruments: [738561] }]));

  test("with NSE hours: the MIS position opened at 09:15 is flat at 15:21 IST; the square-off order and its fill are in the outputs; twice the same", async () => {
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    const first = await runBacktest({ file, out: a, strategiesFile: strategies, marketHours: "nse" });
    await runBacktest({ file, out: b, strategiesFile: strategies, marketHours: "nse" });

    const fills = lines(a, "fills.jsonl");
    expect(fills.map((f) => [f.ts, f.strategy_id, f.side, f.quantity])).toEqual([
      [ist("09:15:01"), "hand", "BUY", 10],
      [ist("15:20:00"), "hand", "SELL", 10],
    ]);
    const net = (until: string) => fills.filter((f) => (f.ts as string) <= until).reduce((n, f) => n + (f.side === "BUY" ? 1 : -1) * (f.quantity as number), 0);
    expect(net(ist("15:19:59"))).toBe(10);
    expect(net(ist("15:21:00"))).toBe(0);

    const orders = lines(a, "orders.jsonl");
    const squareOff = orders.find((o) => o.order_id === fills[1]!.order_id)!;
    expect(squareOff).toMatchObject({ strategy_id: "hand", side: "SELL", quantity: 10, order_type: "MARKET", status: "FILLED", filled_quantity: 10, message: "MIS square-off at 15:20 IST", created_ts: ist("15:20:00") });
    expect(first.report.settings).toMatchObject({ market_hours: "nse" });
    expect(first.report.total).toMatchObject({ fills: 2, unrealised_pnl: "0.00" });

    for (const f of ["fills.jsonl", "orders.jsonl", "equity.csv", "report.html"]) expect(read(b, f)).toBe(read(a, f));
  });

  test("without NSE hours (the default) the position is held to the end of the file", async () => {
    const out = join(dir, "off");
    const r = await runBacktest({ file, out, strategiesFile: strategies });
    expect(lines(out, "fills.jsonl").map((f) => [f.side, f.quantity])).toEqual([["BUY", 10]]);
    expect(r.report.settings).toMatchObject({ market_hours: "off" });
  });
});
