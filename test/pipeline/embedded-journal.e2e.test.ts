/**
 * The embedded log keeps what it acknowledged across kill -9 (its journal in DATA_DIR/log): the
 * gateway, run as a user runs it, takes orders at a steady rate and is killed with SIGKILL several
 * times at random moments mid-flow, each time started again on the same DATA_DIR. At the end every
 * order the API acknowledged is FILLED, REJECTED or resting OPEN (a LIMIT away from the market);
 * every FILLED order has exactly its fills in the ledger; positions, fees and cash agree with it.
 * (Restarts run with an empty dedup cache: the stages' redelivered messages must change nothing.)
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toPaise } from "../../src/money.ts";
import { apiClient, until } from "../support/api-client.ts";
import { dataDirGateways } from "../support/data-dir-gateways.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_journal_test_key_0123456789ab";
const RELIANCE = 738561;
const MARKET = "1290.00";
const STARTING_CASH = "10000000.00";
const KILLS = 4;
// The flow places 25 orders a second with one key, above the default write budget (20/s).
const gateways = dataDirGateways(KEY, { STARTING_CASH, RATE_LIMIT_WRITES_PER_S: "1000", RATE_LIMIT_WRITES_BURST: "2000" });
const { start } = gateways;

const tick = (api: ReturnType<typeof apiClient>) =>
  api.post("/api/v1/ticks", { ticks: [{ instrument_token: RELIANCE, last_price: MARKET, exchange_ts: new Date().toISOString() }] });

/** The n-th order of the flow: mostly MARKET buys and sells, some LIMITs that rest far from the market, some that cross it. */
function orderBody(n: number): Record<string, unknown> {
  const common = { broker: "paper", instrument_token: RELIANCE, client_order_id: `journal-${n}`, quantity: 1 + (n % 3) };
  switch (n % 5) {
    case 3:
      return { ...common, side: "BUY", order_type: "LIMIT", price: "1200.00" };
    case 4:
      return { ...common, side: "SELL", order_type: "LIMIT", price: "1289.00" };
    default:
      return { ...common, side: n % 2 === 0 ? "BUY" : "SELL", order_type: "MARKET" };
  }
}

test(`kill -9 ${KILLS} times at random moments while orders flow: every acknowledged order ends, with exactly its fills in the ledger`, async () => {
  const dataDir = await gateways.dataDir("alpha-journal-");
  let gw = await start(dataDir);
  // Only this test's orders: no strategy trades, and risk lets the flow's rate through.
  for (const s of (await gw.api.get("/api/v1/strategies")).body.strategies as Array<{ id: string }>) {
    expect((await gw.api.patch(`/api/v1/strategies/${s.id}`, { enabled: false })).status).toBe(200);
  }
  expect((await gw.api.put("/api/v1/risk/paper/limits", { max_orders_per_second: 1_000, max_orders_per_strategy_per_day: 100_000 })).status).toBe(200);
  expect((await tick(gw.api)).status).toBe(202);

  const acked = new Map<string, Record<string, unknown>>(); // order_id → what was asked
  const unanswered = new Set<number>(); // orders whose POST died with the process
  let refused = 0;
  let n = 0;
  let down = false;
  let flowing = true;
  // The flow: an order every 40 ms and a tick every 200 ms, on whichever gateway is up.
  const flow = (async () => {
    let ticks = 0;
    while (flowing) {
      await Bun.sleep(40);
      if (down) continue;
      const api = gw.api;
      if (++ticks % 5 === 0) await tick(api).catch(() => {});
      const i = n++;
      const body = orderBody(i);
      try {
        const r = await api.post("/api/v1/orders", body);
        if (r.status === 202) acked.set(r.body.order.order_id, body);
        else refused++;
      } catch {
        unanswered.add(i);
      }
    }
  })();

  for (let k = 0; k < KILLS; k++) {
    await Bun.sleep(400 + Math.floor(Math.random() * 2_000));
    down = true;
    gw.gw.proc.kill("SIGKILL");
    await gw.gw.proc.exited;
    gw = await start(dataDir);
    // Last prices are a cache: the market is known again at the first tick.
    expect((await tick(gw.api)).status).toBe(202);
    down = false;
  }
  await Bun.sleep(1_500);
  flowing = false;
  await flow;

  // A client retries what got no answer, with the same client_order_id: the order it made, or a new one.
  let retriedExisting = 0;
  for (const i of unanswered) {
    const body = orderBody(i);
    const r = await gw.api.post("/api/v1/orders", body);
    if (r.status === 202) acked.set(r.body.order.order_id, body);
    else if (r.status === 200) retriedExisting++;
  }
  console.log(`orders: ${acked.size} acknowledged, ${refused} refused (status), ${unanswered.size} unanswered at a kill (${retriedExisting} of them had been taken)`);
  expect(acked.size).toBeGreaterThan(KILLS * 10);

  // Every acknowledged order ends: FILLED, REJECTED with a reason, or a LIMIT resting away from the market.
  const TERMINAL = new Set(["FILLED", "REJECTED", "CANCELLED", "FAILED", "EXPIRED"]);
  const orders = new Map<string, Record<string, any>>();
  await until(
    "every acknowledged order to end",
    async () => {
      await tick(gw.api);
      for (const [id, asked] of acked) {
        if (orders.has(id)) continue;
        const o = (await gw.api.get(`/api/v1/orders/${id}`)).body.order;
        const rests = asked.order_type === "LIMIT" && asked.price === "1200.00" && o?.status === "OPEN";
        if (o && (TERMINAL.has(o.status) || rests)) orders.set(id, o);
      }
      return orders.size === acked.size ? true : undefined;
    },
    60_000,
    250,
  ).catch((err: Error) => {
    const stuck = [...acked.keys()].filter((id) => !orders.has(id));
    throw new Error(`${err.message}: ${stuck.length} not ended: ${stuck.slice(0, 5).join(", ")} (${JSON.stringify(stuck.slice(0, 5).map((id) => acked.get(id)))})`);
  });
  for (const o of orders.values()) if (o.status === "REJECTED" || o.status === "FAILED") expect(o.reason_code ?? o.message).toBeTruthy();

  // Every FILLED order has exactly its fills in the ledger, and nothing else has any.
  const trades = (await gw.api.get("/api/v1/trades?broker=paper&limit=500")).body.trades as Array<Record<string, any>>;
  expect(trades.length).toBeLessThan(500);
  expect(new Set(trades.map((t) => t.fill_id)).size).toBe(trades.length);
  const filledQty = new Map<string, number>();
  for (const t of trades) filledQty.set(t.order_id, (filledQty.get(t.order_id) ?? 0) + t.quantity);
  const all = (await gw.api.get("/api/v1/orders?broker=paper&limit=500")).body.orders as Array<Record<string, any>>;
  for (const o of all) {
    const expected = o.status === "FILLED" ? o.quantity : o.filled_quantity;
    expect([o.order_id, o.status, filledQty.get(o.order_id) ?? 0, o.filled_quantity]).toEqual([o.order_id, o.status, expected, expected]);
  }
  const filled = [...orders.values()].filter((o) => o.status === "FILLED").length;
  expect(filled).toBeGreaterThan(KILLS * 5);

  // Positions, fees and cash agree with the ledger.
  const portfolio = await until("the portfolio", async () => {
    const r = await gw.api.get("/api/v1/portfolios/paper");
    return r.status === 200 ? (r.body.portfolio as Record<string, any>) : undefined;
  });
  let cash = toPaise(STARTING_CASH);
  let fees = 0;
  const qty = new Map<string, number>();
  for (const t of trades) {
    const value = toPaise(t.price) * t.quantity;
    cash += t.side === "BUY" ? -value : value;
    cash -= toPaise(t.fees);
    fees += toPaise(t.fees);
    const k = `${t.strategy_id}/${t.instrument_token}`;
    qty.set(k, (qty.get(k) ?? 0) + (t.side === "BUY" ? t.quantity : -t.quantity));
  }
  expect(toPaise(portfolio.cash)).toBe(cash);
  expect(toPaise(portfolio.fees)).toBe(fees);
  const positions = new Map((portfolio.positions as Array<Record<string, any>>).map((p) => [`${p.strategy_id}/${p.instrument_token}`, p.quantity]));
  for (const [k, q] of qty) expect([k, positions.get(k) ?? 0]).toEqual([k, q]);
  for (const [k, q] of positions) expect([k, q]).toEqual([k, qty.get(k) ?? 0]);

  // Redelivery with an empty dedup cache changes nothing: kill -9 again and strike every commit
  // from the journal, so each stage reads again everything the journal holds since the last start
  // (signals, validated signals, fills, lifecycle events) with the in-memory dedup cache empty.
  const before = await userView(gw.api);
  gw.gw.proc.kill("SIGKILL");
  await gw.gw.proc.exited;
  let struck = 0;
  for (const f of readdirSync(join(dataDir, "log"))) {
    const lines = readFileSync(join(dataDir, "log", f), "utf8").split("\n");
    const kept = lines.filter((l) => !l.startsWith('["c",'));
    struck += lines.length - kept.length;
    writeFileSync(join(dataDir, "log", f), kept.join("\n"));
  }
  expect(struck).toBeGreaterThan(0);
  gw = await start(dataDir);
  // No tick is sent: whatever the stages handle now is what the journal gave them again.
  const handled = async () => {
    const m = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
    return [...m.matchAll(/^alpha_panda_stage_events_handled_total\{[^}]*\} (\d+)$/gm)].reduce((a, x) => a + Number(x[1]), 0);
  };
  let redelivered = 0;
  await until("the stages to read the journal again and settle", async () => {
    const now = await handled();
    const settled = now > 0 && now === redelivered;
    redelivered = now;
    return settled;
  }, 30_000, 500);
  expect(await userView(gw.api)).toEqual(before);
  console.log(`redelivered after the commits were struck: ${struck} commits struck, ${redelivered} messages handled again, nothing changed`);

  expect((await gw.gw.interrupt()).code).toBe(0);
}, 300_000);

/** What a user sees of orders, trades and the portfolio, but the marks (last prices are a cache). */
async function userView(api: ReturnType<typeof apiClient>) {
  const portfolio = await until("the portfolio", async () => {
    const r = await api.get("/api/v1/portfolios/paper");
    return r.status === 200 ? (r.body.portfolio as Record<string, any>) : undefined;
  });
  const orders = (await api.get("/api/v1/orders?broker=paper&limit=500")).body.orders as Array<Record<string, unknown>>;
  return {
    orders: orders.map(({ updated_at: _u, ...o }) => o).sort((a, b) => String(a.order_id).localeCompare(String(b.order_id))),
    trades: (await api.get("/api/v1/trades?broker=paper&limit=500")).body.trades,
    cash: portfolio.cash,
    realised_pnl: portfolio.realised_pnl,
    fees: portfolio.fees,
    positions: (portfolio.positions as Array<Record<string, unknown>>).map(({ last_price: _l, unrealised_pnl: _p, ...p }) => p),
  };
}
