/**
 * The backtest and a slow FEED=replay embedded gateway, on the same small file, give the same
 * fills (order ids, fill ids, prices, quantities). Slow: one tick every 200 ms of wall time, so
 * each tick is handled by every stage before the next arrives; the gateway runs its seeded
 * strategies and default limits, as the backtest does without --strategies and --limits.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBacktest } from "../../src/backtest/index.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";

const dir = mkdtempSync(join(tmpdir(), "alpha-replay-vs-backtest-"));
const started: GatewayProcess[] = [];
afterAll(() => {
  for (const g of started) if (g.proc.exitCode === null) g.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const KEY = "backtest-e2e-key-0123456789";
/** File seconds per wall second: a tick a second in the file is one every 200 ms. */
const SPEED = 5;
const TICKS = 300;

/**
 * TICKS ticks, one a second, round robin over momentum_fast's instruments (RELIANCE, TCS, INFY),
 * each trending 0.2% a tick, turning every 15 of its ticks, with noise: its 20-tick momentum
 * crosses ±15 bps both ways, again and again.
 */
function file(): string {
  const px = new Map([
    [738561, 129_045],
    [2953217, 412_005],
    [408065, 188_520],
  ]);
  const tokens = [...px.keys()];
  let seed = 11;
  const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff;
  const lines: string[] = [];
  const t0 = Date.parse("2026-12-07T04:00:00.000Z");
  for (let k = 0; k < TICKS; k++) {
    const token = tokens[k % 3]!;
    const trend = Math.floor(k / 45) % 2 === 0 ? 1 : -1;
    const p = Math.round((px.get(token)! * (1 + trend * 0.002 + (rnd() - 0.5) * 0.004)) / 5) * 5;
    px.set(token, p);
    lines.push(JSON.stringify({ instrument_token: token, last_price: p, exchange_ts: new Date(t0 + k * 1000).toISOString() }));
  }
  return lines.join("\n") + "\n";
}

test("a slow FEED=replay gateway fills the same orders at the same prices as the backtest of the same file", async () => {
  const path = join(dir, "small.jsonl");
  writeFileSync(path, file());

  const bt = await runBacktest({ file: path });
  const expected = bt.results.fills
    .map((l) => JSON.parse(l) as { order_id: string; fill_id: string; side: string; quantity: number; price: string })
    .map((f) => ({ order_id: f.order_id, fill_id: f.fill_id, side: f.side, quantity: f.quantity, price: f.price }));
  // The file is meant to trade: more signals than the default rate limit (10 orders a second)
  // lets through in one second, so a rate limit on the wall clock cannot pass unseen.
  expect(Number(bt.report.total.signals)).toBeGreaterThan(10);

  const gw = spawnGateway({ PORT: "0", FEED: "replay", REPLAY_FILE: path, REPLAY_SPEED: String(SPEED), BOOTSTRAP_API_KEY: KEY });
  started.push(gw);
  const url = await gw.url(30_000);
  await gw.waitFor((l) => l.msg === "replay finished", TICKS * (1000 / SPEED) + 30_000);
  // Then until the ledger stops changing (the last ticks' fills).
  let trades: Array<{ order_id: string; fill_id: string; side: string; quantity: number; price: string }> = [];
  for (let same = 0, last = -1; same < 4; ) {
    await Bun.sleep(500);
    const res = await fetch(`${url}/api/v1/trades?broker=paper&limit=500`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    trades = ((await res.json()) as { trades: typeof trades }).trades;
    same = trades.length === last ? same + 1 : 0;
    last = trades.length;
  }
  const { code } = await gw.interrupt();
  expect(code).toBe(0);

  const live = trades.reverse().map((t) => ({ order_id: t.order_id, fill_id: t.fill_id, side: t.side, quantity: t.quantity, price: t.price }));
  expect(live).toEqual(expected);
}, TICKS * (1000 / SPEED) + 120_000);
