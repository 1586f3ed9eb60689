/**
 * Given/When/Then for the paper exchange, with no infrastructure: given commands already
 * handled, when one more is handled, then these events. Every event is checked against its
 * payload schema, and every state against a JSON round trip.
 */
import { expect } from "bun:test";
import { PAYLOADS, type Tick } from "../../src/events/payloads.ts";
import { PaperExchange, emptyExchangeState } from "../../src/execution/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { ExchangeCommand, ExchangeEvent, ExchangeResult, ExchangeState, OrderRequest } from "../../src/execution/index.ts";

export const RELIANCE = 738561; // tick 5 paise, lot 1
export const TCS = 2953217;
export const NOW = "2025-01-02T09:15:00.000Z";

let n = 0;
/** A tick on the 5-paise grid; last_quantity only when given. */
export function tick(instrument_token: number, last_price: number, last_quantity?: number): Tick {
  n += 1;
  return {
    instrument_token,
    last_price,
    ...(last_quantity === undefined ? {} : { last_quantity }),
    exchange_ts: `2025-01-02T09:15:${String(n % 60).padStart(2, "0")}.000Z`,
    feed: "test",
  };
}

export function order(o: Partial<OrderRequest> & Pick<OrderRequest, "order_id">): OrderRequest {
  return { signal_id: `sig-${o.order_id}`, strategy_id: "s1", instrument_token: RELIANCE, side: "BUY", quantity: 10, order_type: "MARKET", ...o };
}

export const ApplyTick = (t: Tick): ExchangeCommand => ({ type: "ApplyTick", tick: t, now: NOW });
export const SubmitOrder = (o: OrderRequest): ExchangeCommand => ({ type: "SubmitOrder", order: o, now: NOW });
export const CancelOrder = (order_id: string): ExchangeCommand => ({ type: "CancelOrder", order_id, now: NOW });

/** Throws unless the event's data matches its payload schema exactly (no extra keys). */
export function checkEvent(e: ExchangeEvent): void {
  if (e.type === "order.cancel_rejected") return;
  const parsed = PAYLOADS[e.type].parse(e.data);
  expect(parsed).toEqual(e.data as never);
}

function run(exchange: PaperExchange, state: ExchangeState, c: ExchangeCommand): ExchangeResult {
  const r = exchange.handle(state, c);
  r.events.forEach(checkEvent);
  // The state must survive persistence unchanged.
  expect(JSON.parse(JSON.stringify(r.state))).toEqual(r.state);
  return r;
}

/**
 * @example
 * spec().given(ApplyTick(tick(RELIANCE, 100_00))).when(SubmitOrder(order({ order_id: "o1" }))).then([...]);
 */
export function spec(config: ConstructorParameters<typeof PaperExchange>[0] = { slippage_bps: 0 }, opts?: Partial<ConstructorParameters<typeof PaperExchange>[1]>) {
  const exchange = new PaperExchange(config, { instruments: NSE_MASTER.byToken, ...opts });
  return {
    exchange,
    given(...commands: ExchangeCommand[]) {
      const state = commands.reduce((s, c) => run(exchange, s, c).state, emptyExchangeState());
      return {
        state,
        when(...more: ExchangeCommand[]) {
          let s = state;
          const events: ExchangeEvent[] = [];
          for (const c of more) {
            const r = run(exchange, s, c);
            s = r.state;
            events.push(...r.events);
          }
          return {
            state: s,
            events,
            then(expected: ExchangeEvent[] | ((events: ExchangeEvent[]) => void)) {
              if (typeof expected === "function") expected(events);
              else expect(events).toEqual(expected);
              return { state: s, events };
            },
          };
        },
      };
    },
  };
}

/** The order.filled data for `o`, whole unless said otherwise. */
export function fillOf(o: OrderRequest, f: { fill_price: number; fees: number; fill_quantity?: number; filled_quantity?: number; seq?: number }): ExchangeEvent {
  const fill_quantity = f.fill_quantity ?? o.quantity;
  const filled_quantity = f.filled_quantity ?? fill_quantity;
  return {
    type: "order.filled",
    data: {
      ...o,
      fill_id: `${o.order_id}-${f.seq ?? 1}`,
      fill_quantity,
      fill_price: f.fill_price,
      filled_quantity,
      fees: f.fees,
      status: filled_quantity === o.quantity ? "FILLED" : "PARTIALLY_FILLED",
    },
  };
}

/** A modify to `o`'s order id: the fields given replace the resting order's (the prices only when given). */
export const ModifyOrder = (o: OrderRequest, change: Partial<Pick<OrderRequest, "quantity" | "order_type" | "price" | "trigger_price">>): ExchangeCommand => ({
  type: "ModifyOrder",
  change: { order_id: o.order_id, instrument_token: o.instrument_token, quantity: o.quantity, order_type: o.order_type, price: o.price, trigger_price: o.trigger_price, ...change },
  now: NOW,
});
