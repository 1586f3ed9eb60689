/**
 * Every event type, and the zod schema of its payload. The union of types is the keys of
 * {@link PAYLOADS}: a type string that is not here cannot be written, and cannot be read.
 * Prices and cash are integer paise; quantities are integers.
 */
import { z } from "zod";
import { BROKERS } from "../config.ts";
import { FILL_STATUSES, ORDER_TYPES, PRODUCTS, SIDES, TRADING_STATES } from "../orders/vocabulary.ts";
import { riskLimitsSchema } from "../risk/limits.ts";

const paise = z.number().int();
const positivePaise = paise.positive();
const qty = z.number().int().positive();
const token = z.number().int().positive();
const broker = z.enum(BROKERS);
const side = z.enum(SIDES);
const orderType = z.enum(ORDER_TYPES);
const utc = z.iso.datetime({ offset: false });

/** A price update for one instrument. */
export const tickSchema = z.object({
  instrument_token: token,
  /** Last traded price, paise. */
  last_price: positivePaise,
  /** Last traded quantity. */
  last_quantity: z.number().int().nonnegative().optional(),
  /** Cumulative volume traded today. */
  volume: z.number().int().nonnegative().optional(),
  bid: positivePaise.optional(),
  ask: positivePaise.optional(),
  /** The order book's best levels (Kite's full mode: five a side, best first), paise; empty levels left out. */
  depth: z
    .object({
      buy: z.array(z.object({ price: positivePaise, quantity: z.number().int().nonnegative(), orders: z.number().int().nonnegative() })).max(20),
      sell: z.array(z.object({ price: positivePaise, quantity: z.number().int().nonnegative(), orders: z.number().int().nonnegative() })).max(20),
    })
    .optional(),
  /** When the exchange (or the feed) says it happened. */
  exchange_ts: utc,
  /** Which feed produced it: simulated, replay, api, kite. */
  feed: z.string().min(1),
});

/** What a signal asks for, and what every order event repeats of it. */
const orderRequest = {
  signal_id: z.string().min(1),
  strategy_id: z.string().min(1),
  instrument_token: token,
  side,
  quantity: qty,
  order_type: orderType,
  price: positivePaise.optional(),
  trigger_price: positivePaise.optional(),
  /** MIS (intraday, squared off at the day's end), CNC or NRML; none is MIS, as on Kite. */
  product: z.enum(PRODUCTS).optional(),
};

const signal = z.object({
  ...orderRequest,
  /** The price the strategy saw when it decided. */
  reference_price: positivePaise.optional(),
  client_order_id: z.string().min(1).optional(),
  reason: z.string().optional(),
  /** An order placed through the API: after this it must not reach a venue (risk refuses it). */
  expires_at: utc.optional(),
  /**
   * A strategy's signal: the offset, on its broker's control topic, of the strategy's definition it
   * was generated under (risk refuses it if it knows a newer one). API orders carry none.
   */
  strategy_offset: z.number().int().nonnegative().optional(),
  /** A square-off: it may only shrink a position, and so it passes REDUCING and HALTED. */
  reduce_only: z.boolean().optional(),
  /** After-market: placed while the market is closed, it rests until the next open. */
  amo: z.boolean().optional(),
});

const check = z.object({ rule: z.string(), passed: z.boolean(), detail: z.string().optional() });

const order = z.object({
  order_id: z.string().min(1),
  ...orderRequest,
  /** An after-market order: the paper exchange holds it until the next open; Kite's variety "amo". */
  amo: z.boolean().optional(),
});

/**
 * A modify in flight: the whole order as it would be after the change (an absent price is no
 * price), what had filled when it was asked (so risk judges the rest's effect on the position),
 * and which fields the request named.
 */
const modify = order.extend({
  /** The order is after-market (held until the open): risk judges the modify as such. */
  amo: z.boolean().optional(),
  filled_quantity: z.number().int().nonnegative(),
  changed: z.array(z.enum(["quantity", "price", "trigger_price", "order_type"])).min(1),
});

export const PAYLOADS = {
  "market.tick": tickSchema,
  "signal.generated": signal,
  "signal.validated": signal.extend({ checks: z.array(check) }),
  "signal.rejected": signal.extend({ checks: z.array(check), reason_code: z.string().min(1), message: z.string() }),
  "order.submitted": order.extend({ venue_order_id: z.string().optional() }),
  "order.filled": order.extend({
    fill_id: z.string().min(1),
    fill_quantity: qty,
    fill_price: positivePaise,
    filled_quantity: z.number().int().nonnegative(),
    fees: z.number().int().nonnegative(),
    status: z.enum(FILL_STATUSES),
  }),
  "order.rejected": order.extend({ reason_code: z.string().min(1), message: z.string() }),
  "order.cancelled": order.extend({ reason: z.string().optional() }),
  "order.failed": order.extend({ reason_code: z.string().min(1), message: z.string() }),
  /** A cancel the venue refused (the order was not open, or not known); the order is unchanged. */
  "order.cancel_rejected": z.object({ order_id: z.string().min(1), reason_code: z.string().min(1), message: z.string() }).passthrough(),
  /** A command (imperative): change an open order; risk judges it first (on signals.raw). */
  "order.modify": modify,
  /** A modify risk let through, for the execution stage (on signals.validated). */
  "order.modify_validated": modify.extend({ checks: z.array(check) }),
  /** A modify refused by risk or the venue; the order is unchanged. */
  "order.modify_rejected": z.object({ order_id: z.string().min(1), instrument_token: token, reason_code: z.string().min(1), message: z.string(), checks: z.array(check).optional() }),
  /** The venue changed a resting order: its quantity, type and prices as they are now (an absent price is none). */
  "order.modified": order,
  /** A command (imperative): cancel an open order. */
  "order.cancel": z.object({ order_id: z.string().min(1), instrument_token: token, reason: z.string().optional() }),
  /**
   * A command (imperative): cancel every open order of one instrument with this product (the
   * day's end cancels the open MIS orders; an order with no product is MIS).
   */
  "order.cancel_open": z.object({ instrument_token: token, product: z.enum(PRODUCTS), reason: z.string().min(1) }),
  /** A command (imperative): set the broker's trading state (the kill switch). */
  "control.trading_state": z.object({ state: z.enum(TRADING_STATES), reason: z.string() }),
  /** A command: the broker's risk limits, the full set. */
  "control.limits": z.object({ limits: riskLimitsSchema }),
  /** A command: a strategy's whole definition (added, changed, enabled or disabled). */
  "control.strategy": z.object({
    id: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/),
    kind: z.string().min(1),
    params: z.record(z.string(), z.unknown()),
    instruments: z.array(token),
    brokers: z.array(broker).min(1),
    enabled: z.boolean(),
  }),
  "pnl.snapshot": z.object({
    broker,
    cash: paise,
    realised_pnl: paise,
    unrealised_pnl: paise,
    fees: z.number().int().nonnegative(),
    positions: z.number().int().nonnegative(),
  }),
} as const;

export type EventType = keyof typeof PAYLOADS;
export const EVENT_TYPES = Object.keys(PAYLOADS) as EventType[];

/** The payload type of an event type. */
export type PayloadOf<T extends EventType> = z.output<(typeof PAYLOADS)[T]>;

export type Tick = PayloadOf<"market.tick">;
