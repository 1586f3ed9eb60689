/**
 * The services' views (integer paise) as response JSON (decimal-string rupees). Quantities stay
 * integers. The one place money leaves the API, so no route formats money by hand.
 */
import type { Instrument } from "../../src/market/instruments.ts";
import { toRupees, type Paise } from "../../src/money.ts";
import { limitsAtEdge } from "../../src/risk/limits.ts";
import type { OrderEventView, OrderView, PortfolioView, PositionView, RiskView, TradeView } from "./services.ts";

const opt = (p: Paise | undefined): string | undefined => (p === undefined ? undefined : toRupees(p));

/** Payload fields that hold paise, in every event type that reaches the API (orders, fills, ticks, P&L). */
const MONEY_FIELDS: ReadonlySet<string> = new Set([
  "price",
  "trigger_price",
  "reference_price",
  "fill_price",
  "average_price",
  "fees",
  "last_price",
  "bid",
  "ask",
  "cash",
  "realised_pnl",
  "unrealised_pnl",
]);

/**
 * An event payload with its money fields as decimal strings (top level: payloads are flat).
 *
 * @example
 * eventData({ fill_price: 245135, fill_quantity: 1 }); // { fill_price: "2451.35", fill_quantity: 1 }
 */
export function eventData(data: unknown): Record<string, unknown> {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return { value: data };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) out[k] = MONEY_FIELDS.has(k) && Number.isSafeInteger(v) ? toRupees(v as number) : v;
  return out;
}

const eventJson = (e: OrderEventView) => ({ id: e.id, type: e.type, ts: e.ts, data: eventData(e.data) });

/**
 * @example
 * orderJson(view).price; // "2451.35"
 */
export function orderJson(o: OrderView) {
  return {
    ...o,
    price: opt(o.price),
    trigger_price: opt(o.trigger_price),
    average_price: opt(o.average_price),
    events: o.events?.map(eventJson),
  };
}

/** A position with its prices and P&L as decimal strings. */
export function positionJson(p: PositionView) {
  return {
    ...p,
    average_price: toRupees(p.average_price),
    last_price: opt(p.last_price),
    realised_pnl: toRupees(p.realised_pnl),
    unrealised_pnl: toRupees(p.unrealised_pnl),
    fees: toRupees(p.fees),
  };
}

/**
 * @example
 * portfolioJson(view).realised_pnl; // "-12.50"
 */
export function portfolioJson(p: PortfolioView) {
  return {
    ...p,
    cash: toRupees(p.cash),
    realised_pnl: toRupees(p.realised_pnl),
    unrealised_pnl: toRupees(p.unrealised_pnl),
    fees: toRupees(p.fees),
    positions: p.positions.map(positionJson),
  };
}

/** A trade with price and fees as decimal strings. */
export const tradeJson = (t: TradeView) => ({ ...t, price: toRupees(t.price), fees: toRupees(t.fees) });

/**
 * Money limits (see MONEY_LIMITS) as decimal strings; counts and fractions stay numbers.
 *
 * @example
 * riskJson(view).limits; // { max_daily_loss: "50000.00", price_band_fraction: 0.05, … }
 */
export function riskJson(r: RiskView) {
  return { ...r, limits: limitsAtEdge(r.limits) };
}

/** An instrument with tick size and reference price as decimal strings. */
export const instrumentJson = (i: Instrument) => ({
  instrument_token: i.instrument_token,
  exchange: i.exchange,
  tradingsymbol: i.tradingsymbol,
  name: i.name,
  tick_size: toRupees(i.tick_size),
  lot_size: i.lot_size,
  reference_price: toRupees(i.reference_price),
});
