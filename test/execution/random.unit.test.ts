/**
 * Long random sessions against the exchange: every event matches its schema, quantities and
 * charges add up per order, and the state survives JSON and replays to the same bytes.
 */
import { expect, test } from "bun:test";
import { PaperExchange, emptyExchangeState, feesOnTurnover } from "../../src/execution/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { ExchangeCommand, ExchangeEvent, ExchangeState } from "../../src/execution/index.ts";
import { prng } from "../portfolio/prng.ts";
import { checkEvent, NOW, order, tick } from "./support.ts";

const TOKENS = [738561, 2953217, 408065];

function session(seed: number, steps: number): ExchangeCommand[] {
  const r = prng(seed);
  const price: Record<number, number> = { 738561: 1_290_45, 2953217: 4_120_05, 408065: 1_885_20 };
  const commands: ExchangeCommand[] = [];
  let ids = 0;
  for (let i = 0; i < steps; i++) {
    const token = TOKENS[r.int(0, TOKENS.length - 1)] as number;
    const roll = r.int(0, 9);
    if (roll < 5) {
      price[token] = Math.max(5, (price[token] as number) + 5 * r.int(-40, 40));
      commands.push({ type: "ApplyTick", tick: tick(token, price[token] as number, r.int(0, 3) === 0 ? undefined : r.int(0, 50)), now: NOW });
    } else if (roll < 9) {
      const type = (["MARKET", "LIMIT", "SL", "SL-M"] as const)[r.int(0, 3)] as "MARKET" | "LIMIT" | "SL" | "SL-M";
      // Now and then off the grid, so rejections happen whatever the settings.
      const near = (price[token] as number) + 5 * r.int(-60, 60) + (r.int(0, 15) === 0 ? 1 : 0);
      ids += 1;
      commands.push({
        type: "SubmitOrder",
        order: order({
          order_id: `o${ids}`,
          instrument_token: token,
          side: r.int(0, 1) ? "BUY" : "SELL",
          quantity: r.int(1, 40),
          order_type: type,
          ...(type === "LIMIT" || type === "SL" ? { price: Math.max(5, near) } : {}),
          ...(type === "SL" || type === "SL-M" ? { trigger_price: Math.max(5, near + 5 * r.int(-10, 10)) } : {}),
        }),
        now: NOW,
      });
    } else {
      commands.push({ type: "CancelOrder", order_id: `o${r.int(1, ids + 3)}`, now: NOW });
    }
  }
  return commands;
}

function play(exchange: PaperExchange, commands: ExchangeCommand[], start = emptyExchangeState()) {
  let state: ExchangeState = start;
  const events: ExchangeEvent[] = [];
  for (const c of commands) {
    const r = exchange.handle(state, c);
    state = r.state;
    events.push(...r.events);
  }
  return { state, events };
}

for (const config of [{ slippage_bps: 3, partial_fills: true }, { slippage_bps: 0, stop_already_triggered: "trigger" as const }]) {
  test(`random sessions: schemas, per-order sums, JSON persistence, replay (${JSON.stringify(config)})`, () => {
    const exchange = new PaperExchange(config, { instruments: NSE_MASTER.byToken });
    for (const seed of [1, 2, 3]) {
      const commands = session(seed, 3_000);
      const { state, events } = play(exchange, commands);
      events.forEach(checkEvent);
      const count = (type: string) => events.filter((e) => e.type === type).length;
      // The session must exercise every path, or the checks below prove little.
      for (const type of ["order.submitted", "order.filled", "order.rejected", "order.cancelled", "order.cancel_rejected"]) expect(count(type)).toBeGreaterThan(10);

      const perOrder = new Map<string, { qty: number; filled: number; fills: number; value: number; fees: number; side: "BUY" | "SELL"; done: boolean }>();
      for (const e of events) {
        if (e.type !== "order.filled") continue;
        const d = e.data;
        const acc = perOrder.get(d.order_id) ?? { qty: d.quantity, filled: 0, fills: 0, value: 0, fees: 0, side: d.side, done: false };
        expect(acc.done).toBe(false);
        acc.filled += d.fill_quantity;
        acc.value += d.fill_quantity * d.fill_price;
        acc.fees += d.fees;
        expect(d.filled_quantity).toBe(acc.filled);
        acc.fills += 1;
        expect(d.fill_id).toBe(`${d.order_id}-${acc.fills}`);
        acc.done = d.status === "FILLED";
        expect(acc.filled <= acc.qty).toBe(true);
        expect(Number.isSafeInteger(acc.value)).toBe(true);
        perOrder.set(d.order_id, acc);
      }
      for (const acc of perOrder.values()) expect(acc.fees).toBe(feesOnTurnover(acc.side, acc.value, exchange.config.fees).total);
      // Every open order is in the book of its instrument, once.
      const inBook = Object.values(state.book).flat().map((o) => o.order.order_id).sort();
      expect(inBook).toEqual(Object.keys(state.open).sort());

      // Persist halfway, reload, continue: same events and state as an uninterrupted run.
      const half = Math.floor(commands.length / 2);
      const first = play(exchange, commands.slice(0, half));
      const reloaded = JSON.parse(JSON.stringify(first.state)) as ExchangeState;
      const second = play(exchange, commands.slice(half), reloaded);
      expect([...first.events, ...second.events]).toEqual(events);
      expect(JSON.stringify(second.state)).toBe(JSON.stringify(state));
    }
  });
}

test("in place (the execution stage's mode): the same events and states as the pure exchange", () => {
  for (const config of [{ slippage_bps: 3, partial_fills: true }, { slippage_bps: 0, stop_already_triggered: "trigger" as const, closed_order_memory: 50 }]) {
    const pure = new PaperExchange(config, { instruments: NSE_MASTER.byToken });
    const inPlace = new PaperExchange(config, { instruments: NSE_MASTER.byToken, inPlace: true });
    for (const seed of [4, 5]) {
      let a: ExchangeState = emptyExchangeState();
      let b: ExchangeState = emptyExchangeState();
      session(seed, 2_000).forEach((c, i) => {
        const check = i % 100 === 0;
        const before = check ? JSON.stringify(a) : "";
        const ra = pure.handle(a, c);
        const rb = inPlace.handle(b, c);
        expect(rb.events).toEqual(ra.events);
        if (check) expect(JSON.stringify(a)).toBe(before); // the pure one still never changes its input
        a = ra.state;
        b = rb.state;
        if (check) expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      });
      expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    }
  }
});
