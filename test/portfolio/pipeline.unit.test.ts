/**
 * The paper exchange's fills feed the portfolio, as the execution and portfolio workers will:
 * the portfolio's cash moves by exactly the fills' values and the charges the exchange levied.
 */
import { expect, test } from "bun:test";
import { PAYLOADS } from "../../src/events/payloads.ts";
import { PaperExchange, emptyExchangeState } from "../../src/execution/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { evolve, initialPortfolio, mark, snapshot } from "../../src/portfolio/index.ts";
import { prng } from "./prng.ts";

test("exchange fills → portfolio: cash and gross P&L identities hold with real charges", () => {
  const r = prng(11);
  const exchange = new PaperExchange({ slippage_bps: 3 }, { instruments: NSE_MASTER.byToken });
  const token = 738561;
  let ex = emptyExchangeState();
  let pf = initialPortfolio({ broker: "paper" });
  let price = 1_290_45;
  let bought = 0;
  let sold = 0;
  let charged = 0;
  let net = 0;
  const now = "2025-01-02T09:15:00.000Z";
  for (let i = 0; i < 2_000; i++) {
    price = Math.max(5, price + 5 * r.int(-20, 20));
    const tick = { instrument_token: token, last_price: price, exchange_ts: now, feed: "test" };
    const step = exchange.onTick(ex, tick, now);
    pf = mark(pf, tick);
    const order = { order_id: `o${i}`, signal_id: `g${i}`, strategy_id: "s", instrument_token: token, side: r.int(0, 1) ? "BUY" : "SELL", quantity: r.int(1, 30), order_type: "MARKET" } as const;
    const submitted = r.int(0, 2) === 0 ? exchange.submit(step.state, order, now) : { state: step.state, events: [] };
    ex = submitted.state;
    for (const e of [...step.events, ...submitted.events]) {
      if (e.type !== "order.filled") continue;
      const fill = PAYLOADS["order.filled"].parse(e.data);
      pf = evolve(pf, fill);
      const value = fill.fill_quantity * fill.fill_price;
      if (fill.side === "BUY") {
        bought += value;
        net += fill.fill_quantity;
      } else {
        sold += value;
        net -= fill.fill_quantity;
      }
      charged += fill.fees;
    }
  }
  const s = snapshot(pf);
  expect(PAYLOADS["pnl.snapshot"].parse(s)).toEqual(s);
  expect(s.cash).toBe(100_000_000 - bought + sold - charged);
  expect(s.fees).toBe(charged);
  expect(s.realised_pnl + s.unrealised_pnl).toBe(sold - bought + net * price);
  expect(charged).toBeGreaterThan(0);
});
