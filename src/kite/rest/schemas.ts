/**
 * The shapes Kite Connect v3 answers with, as zod schemas that also convert at the edge: rupee
 * numbers become integer paise (see money.ts for exact vs nearest), Kite's IST timestamps
 * ("2022-03-03 09:24:25") become UTC ISO strings. Unknown fields are dropped; a missing or
 * mistyped field we rely on makes the whole answer a "bad_response", never a crash later.
 */
import { z } from "zod";
import { ORDER_TYPES, SIDES } from "../../orders/vocabulary.ts";
import { exactPaise, nearestPaise } from "./money.ts";

/** "2022-03-03 09:24:25" (Kite's, IST) → "2022-03-03T03:54:25.000Z"; undefined if not that form. */
export function kiteTimeToIso(text: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(text);
  if (!m) return undefined;
  const t = new Date(`${m[1]}T${m[2]}+05:30`);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

/** A price on the exchange grid (order price, trigger, last price, a fill): exact paise or refused. */
const price = z.number().transform((x, ctx) => {
  const p = exactPaise(x);
  if (p === undefined) {
    ctx.addIssue({ code: "custom", input: x, message: `${x} is not a price in whole paise` });
    return z.NEVER;
  }
  return p;
});

/** An amount Kite computed (averages, P&L, margins): nearest paisa, half away from zero. */
const amount = z.number().transform((x, ctx) => {
  const p = nearestPaise(x);
  if (p === undefined) {
    ctx.addIssue({ code: "custom", input: x, message: `${x} is not an amount in rupees` });
    return z.NEVER;
  }
  return p;
});

const time = z
  .string()
  .nullish()
  .transform((s, ctx) => {
    if (s === null || s === undefined || s === "") return null;
    const iso = kiteTimeToIso(s);
    if (iso === undefined) {
      ctx.addIssue({ code: "custom", input: s, message: `${JSON.stringify(s)} is not a Kite timestamp (YYYY-MM-DD hh:mm:ss)` });
      return z.NEVER;
    }
    return iso;
  });

const text = z
  .string()
  .nullish()
  .transform((s) => s ?? null);
const count = z.number().int().nonnegative();
const side = z.enum(SIDES);
const token = z.number().int().nonnegative();

/** One order, as in the order book, an order's history, and (with more fields) a postback. */
export const orderSchema = z.object({
  order_id: z.string().min(1),
  exchange_order_id: text,
  parent_order_id: text,
  placed_by: z.string().optional(),
  status: z.string().min(1),
  status_message: text,
  status_message_raw: text,
  order_timestamp: time,
  exchange_timestamp: time,
  exchange_update_timestamp: time,
  variety: z.string(),
  exchange: z.string(),
  tradingsymbol: z.string(),
  instrument_token: token,
  order_type: z.enum(ORDER_TYPES),
  transaction_type: side,
  validity: z.string(),
  product: z.string(),
  quantity: count,
  disclosed_quantity: count.default(0),
  /** Paise; 0 for MARKET and SL-M. */
  price,
  /** Paise; 0 when there is no trigger. */
  trigger_price: price,
  /** Paise, nearest: an average over fills can fall between paise (100.05 and 100.10 → 100.075). */
  average_price: amount,
  filled_quantity: count,
  pending_quantity: count,
  cancelled_quantity: count.default(0),
  tag: text,
  tags: z.array(z.string()).optional(),
  guid: text,
});
export type KiteOrder = z.output<typeof orderSchema>;

/** One fill. Its price is exact: a trade happens at one price on the grid. */
export const tradeSchema = z.object({
  trade_id: z.string().min(1),
  order_id: z.string().min(1),
  exchange_order_id: text,
  exchange: z.string(),
  tradingsymbol: z.string(),
  instrument_token: token,
  product: z.string(),
  transaction_type: side,
  quantity: z.number().int().positive(),
  /** The fill price, paise. */
  average_price: price,
  fill_timestamp: time,
  exchange_timestamp: time,
});
export type KiteTrade = z.output<typeof tradeSchema>;

export const positionSchema = z.object({
  tradingsymbol: z.string(),
  exchange: z.string(),
  instrument_token: token,
  product: z.string(),
  /** Net quantity: negative when short. */
  quantity: z.number().int(),
  overnight_quantity: z.number().int().default(0),
  multiplier: z.number().default(1),
  average_price: amount,
  close_price: amount,
  last_price: amount,
  value: amount,
  pnl: amount,
  m2m: amount,
  unrealised: amount,
  realised: amount,
  buy_quantity: count,
  buy_price: amount,
  buy_value: amount,
  sell_quantity: count,
  sell_price: amount,
  sell_value: amount,
});
export type KitePosition = z.output<typeof positionSchema>;
export const positionsSchema = z.object({ net: z.array(positionSchema), day: z.array(positionSchema) });
export type KitePositions = z.output<typeof positionsSchema>;

export const holdingSchema = z.object({
  tradingsymbol: z.string(),
  exchange: z.string(),
  instrument_token: token,
  isin: z.string().default(""),
  product: z.string(),
  quantity: z.number().int(),
  t1_quantity: z.number().int().default(0),
  used_quantity: z.number().int().default(0),
  collateral_quantity: z.number().int().default(0),
  average_price: amount,
  last_price: amount,
  close_price: amount,
  pnl: amount,
  day_change: amount.default(0),
  /** A percentage, not money: kept as Kite sent it. */
  day_change_percentage: z.number().default(0),
});
export type KiteHolding = z.output<typeof holdingSchema>;

const segmentSchema = z.object({
  enabled: z.boolean(),
  net: amount,
  /** cash, opening_balance, live_balance, collateral, intraday_payin, adhoc_margin: paise. */
  available: z.record(z.string(), amount),
  /** debits, exposure, span, m2m_realised, ...: paise. */
  utilised: z.record(z.string(), amount),
});
export const marginsSchema = z.object({ equity: segmentSchema.optional(), commodity: segmentSchema.optional() });
export type KiteMargins = z.output<typeof marginsSchema>;

/** What POST /session/token gives back (the user's profile and the tokens). */
export const sessionSchema = z.object({
  user_id: z.string().min(1),
  access_token: z.string().min(1),
  api_key: z.string().optional(),
  public_token: z.string().optional(),
  refresh_token: z.string().optional(),
  user_name: z.string().optional(),
  user_shortname: z.string().optional(),
  email: z.string().optional(),
  user_type: z.string().optional(),
  broker: z.string().optional(),
  exchanges: z.array(z.string()).optional(),
  products: z.array(z.string()).optional(),
  order_types: z.array(z.string()).optional(),
  login_time: time.optional(),
});
export type KiteSession = z.output<typeof sessionSchema>;

export const orderIdSchema = z.object({ order_id: z.string().min(1) });

/** Kite's success envelope around any of the above. */
export const success = <T extends z.ZodType>(data: T) => z.object({ status: z.literal("success"), data });

/** One line per problem, with the field path: for error messages. */
export function describeIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues.slice(0, max).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  const more = error.issues.length > max ? `; and ${error.issues.length - max} more` : "";
  return lines.join("; ") + more;
}
