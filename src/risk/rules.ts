/**
 * One rule per reason code. Each says whether a signal passes and why, in words an operator reads
 * in the rejection. A rule that cannot be checked (no instrument, no price) fails: risk lets
 * through only what it has verified.
 */
import type { PayloadOf } from "../events/payloads.ts";
import type { SessionAt } from "../market/calendar.ts";
import { onTickGrid, toRupees, type Paise } from "../money.ts";
import { PRICES_NEEDED } from "../orders/vocabulary.ts";
import type { RiskContext } from "./context.ts";
import { istMinute } from "./day.ts";
import { minuteText } from "./day-end.ts";
import type { ReasonCode } from "./reasons.ts";
import { RATE_WINDOW_MS, type RiskState } from "./state.ts";

/** The signal risk judges: the payload of `signal.generated`. */
export type RiskSignal = PayloadOf<"signal.generated">;

export interface Verdict {
  passed: boolean;
  detail: string;
}

type Rule = (signal: RiskSignal, state: RiskState, ctx: RiskContext) => Verdict;

const verdict = (passed: boolean, detail: string): Verdict => ({ passed, detail });
const rupees = (p: Paise) => `₹${toRupees(p)}`;
const signed = (s: RiskSignal) => (s.side === "BUY" ? s.quantity : -s.quantity);

/**
 * True when the order shrinks the position toward zero without crossing it.
 *
 * @example
 * reduces({ ...signal, side: "SELL", quantity: 5 }, 10); // true
 * reduces({ ...signal, side: "SELL", quantity: 15 }, 10); // false: it would go short
 */
export const reduces = (s: RiskSignal, position: number): boolean =>
  position !== 0 && Math.sign(signed(s)) === -Math.sign(position) && s.quantity <= Math.abs(position);

/**
 * True for a square-off that may pass: marked reduce-only, and it reduces the broker's position in
 * the instrument without crossing zero.
 */
const flattens = (s: RiskSignal, ctx: RiskContext): boolean => s.reduce_only === true && reduces(s, ctx.position);

/**
 * A rule that guards against new risk (a limit, the throttle, the day's loss): a reduce-only order
 * that reduces passes it, saying so, for a kill switch or a limit must never stop a trader from
 * getting flat.
 */
const guardsNewRisk =
  (rule: Rule): Rule =>
  (s, state, ctx) => {
    const v = rule(s, state, ctx);
    if (v.passed || !flattens(s, ctx)) return v;
    return verdict(true, `${v.detail}; passes: a reduce-only ${s.side} ${s.quantity} reduces the position of ${ctx.position}`);
  };

/** The price the order is valued at: its limit, its trigger, else the market. */
function valuation(s: RiskSignal, ctx: RiskContext): Paise | undefined {
  if (s.order_type === "LIMIT" || s.order_type === "SL") return s.price;
  if (s.order_type === "SL-M") return s.trigger_price;
  return ctx.last_price ?? s.reference_price;
}

/** The prices a fat finger could have typed: limit and trigger; for MARKET, what the strategy saw. */
function bandedPrices(s: RiskSignal): Array<[string, Paise]> {
  const out: Array<[string, Paise]> = [];
  if (s.order_type === "MARKET") {
    if (s.reference_price !== undefined) out.push(["reference price", s.reference_price]);
    return out;
  }
  if (s.price !== undefined) out.push(["price", s.price]);
  if (s.trigger_price !== undefined) out.push(["trigger price", s.trigger_price]);
  return out;
}

function orderProblems(s: RiskSignal): string[] {
  const p: string[] = [];
  const { price: needsPrice, trigger_price: needsTrigger } = PRICES_NEEDED[s.order_type];
  if (needsPrice && s.price === undefined) p.push(`${s.order_type} needs a price`);
  if (!needsPrice && s.price !== undefined) p.push(`${s.order_type} takes no price`);
  if (needsTrigger && s.trigger_price === undefined) p.push(`${s.order_type} needs a trigger price`);
  if (!needsTrigger && s.trigger_price !== undefined) p.push(`${s.order_type} takes no trigger price`);
  if (s.order_type === "SL" && s.price !== undefined && s.trigger_price !== undefined) {
    // A stop-limit triggers before it can fill: a BUY's trigger sits at or below its limit.
    if (s.side === "BUY" && s.trigger_price > s.price) p.push("a BUY SL's trigger price must not exceed its price");
    if (s.side === "SELL" && s.trigger_price < s.price) p.push("a SELL SL's trigger price must not be below its price");
  }
  if (!Number.isSafeInteger(s.quantity) || s.quantity <= 0) p.push(`quantity must be a positive whole number, got ${s.quantity}`);
  return p;
}

/** Where the signal's time falls on its instrument's exchange; a string when hours are not checked (why), undefined for an unknown instrument. */
function sessionOf(ctx: RiskContext): SessionAt | string | undefined {
  if (!ctx.hours) return "market hours not enforced (MARKET_HOURS=off)";
  if (!ctx.instrument) return undefined;
  const exchange = ctx.instrument.exchange;
  if (exchange === undefined || !ctx.hours.covers(exchange)) return `no hours for exchange ${exchange ?? "(none)"} in the calendar: not checked`;
  return ctx.hours.sessionAt(exchange, ctx.now);
}

export const RULES: Record<ReasonCode, Rule> = {
  TRADING_HALTED: (s, state) => {
    const halted = `trading is HALTED${state.trading_reason ? `: ${state.trading_reason}` : ""}`;
    if (state.trading !== "HALTED") return verdict(true, `trading is ${state.trading}`);
    // A square-off is judged by REDUCE_ONLY alone, in every state: it must reduce, and then it passes.
    return s.reduce_only === true ? verdict(true, `${halted}; a reduce-only order passes if it reduces (REDUCE_ONLY)`) : verdict(false, halted);
  },

  REDUCE_ONLY: (s, state, ctx) => {
    if (state.trading !== "REDUCING" && s.reduce_only !== true) return verdict(true, `trading is ${state.trading}, not reduce-only`);
    const ok = reduces(s, ctx.position);
    const why = s.reduce_only === true ? "a reduce-only order" : "reduce-only";
    return verdict(ok, `${why}: ${s.side} ${s.quantity} against a position of ${ctx.position} ${ok ? "reduces it" : "does not reduce it"}`);
  },

  UNKNOWN_INSTRUMENT: (s, _state, ctx) =>
    ctx.instrument ? verdict(true, `instrument ${s.instrument_token} is known`) : verdict(false, `instrument ${s.instrument_token} is unknown`),

  // Judged at the signal's event time, so a backtest judges by the file's time.
  MARKET_CLOSED: (s, _state, ctx) => {
    const at = sessionOf(ctx);
    if (typeof at === "string") return verdict(true, at);
    if (at === undefined) return verdict(false, "not checked: unknown instrument");
    if (at.phase === "open") return verdict(true, `${at.exchange} is open until ${at.closes!.ist}`);
    const closed = `${at.exchange} is closed (${at.why}); it opens ${at.next_open.ist}`;
    return s.amo ? verdict(true, `${closed}: an after-market order, it rests until then`) : verdict(false, `${closed}: place it then, or as an after-market order (amo) to rest until the open`);
  },

  // As Kite does: once intraday positions are squared off (15:20 IST), no new intraday order is
  // taken that day; risk's own square-off orders never pass through the rules.
  MIS_SQUARED_OFF: (s, _state, ctx) => {
    if (s.product !== undefined && s.product !== "MIS") return verdict(true, `a ${s.product} order`);
    if (!ctx.hours || ctx.mis_square_off_minute === undefined) return verdict(true, "market hours not enforced (MARKET_HOURS=off)");
    if (s.amo) return verdict(true, "an after-market order: it trades from the next open");
    const at = `${minuteText(ctx.mis_square_off_minute)} IST`;
    return istMinute(ctx.now) < ctx.mis_square_off_minute
      ? verdict(true, `before the intraday square-off at ${at}`)
      : verdict(false, `intraday (MIS) positions were squared off at ${at}: no new MIS order today; place it as CNC or NRML`);
  },

  // As Kite does: an after-market order is refused while the market trades.
  AMO_MARKET_OPEN: (s, _state, ctx) => {
    if (!s.amo) return verdict(true, "not an after-market order");
    const at = sessionOf(ctx);
    if (typeof at === "string") return verdict(true, at);
    if (at === undefined) return verdict(false, "not checked: unknown instrument");
    return at.phase === "open"
      ? verdict(false, `an after-market order is refused while ${at.exchange} is open (until ${at.closes!.ist}): place a regular order`)
      : verdict(true, `${at.exchange} is closed: the after-market order rests until ${at.next_open.ist}`);
  },

  INVALID_ORDER: (s) => {
    const problems = orderProblems(s);
    return problems.length === 0 ? verdict(true, `a well-formed ${s.order_type} order`) : verdict(false, problems.join("; "));
  },

  // Every order needs the market's price: a MARKET or SL-M one to be valued, a LIMIT or SL one for
  // its price band. Without a tick yet (risk knows prices only from the ticks it consumed) it is
  // refused here, under this one reason, rather than as a band it could not check.
  NO_MARKET_PRICE: (s, _state, ctx) => {
    if (ctx.last_price !== undefined) return verdict(true, `last price ${rupees(ctx.last_price)}`);
    const atMarket = s.order_type === "MARKET" || s.order_type === "SL-M";
    return verdict(false, `no tick yet for ${s.instrument_token}: ${atMarket ? `a ${s.order_type} order cannot be valued` : `the ${s.order_type} order's price cannot be checked against the market`}`);
  },

  LOT_SIZE: (s, _state, ctx) => {
    if (!ctx.instrument) return verdict(false, "not checked: unknown instrument");
    const lot = ctx.instrument.lot_size;
    return s.quantity % lot === 0
      ? verdict(true, `quantity ${s.quantity} is a multiple of lot ${lot}`)
      : verdict(false, `quantity ${s.quantity} is not a multiple of lot ${lot}`);
  },

  TICK_SIZE: (s, _state, ctx) => {
    if (!ctx.instrument) return verdict(false, "not checked: unknown instrument");
    const tick = ctx.instrument.tick_size;
    const priced = bandedPrices(s).filter(([name]) => name !== "reference price");
    const off = priced.filter(([, p]) => !onTickGrid(p, tick));
    if (off.length > 0) return verdict(false, off.map(([name, p]) => `${name} ${rupees(p)} is not on the ${rupees(tick)} tick`).join("; "));
    return verdict(true, priced.length === 0 ? "no price to check" : `on the ${rupees(tick)} tick`);
  },

  PRICE_BAND: (s, _state, ctx) => {
    const prices = bandedPrices(s);
    if (prices.length === 0) return verdict(true, "no price to check");
    const last = ctx.last_price;
    if (last === undefined) return verdict(false, "not checked: no last price");
    const f = ctx.limits.price_band_fraction;
    // The band in whole paise; the nudge undoes float noise such as 0.29 × 100 = 28.999….
    const band = Math.floor(f * last * (1 + 1e-12));
    const out = prices.filter(([, p]) => Math.abs(p - last) > band);
    const where = `±${(f * 100).toFixed(2)}% (${rupees(band)}) of the last price ${rupees(last)}`;
    return out.length === 0
      ? verdict(true, `within ${where}`)
      : verdict(false, out.map(([name, p]) => `${name} ${rupees(p)} is outside ${where}`).join("; "));
  },

  MAX_QUANTITY: guardsNewRisk((s, _state, ctx) => {
    const max = ctx.limits.max_order_quantity;
    return verdict(s.quantity <= max, `quantity ${s.quantity} ${s.quantity <= max ? "within" : "exceeds"} the limit ${max}`);
  }),

  MAX_NOTIONAL: guardsNewRisk((s, _state, ctx) => {
    const price = valuation(s, ctx);
    if (price === undefined) return verdict(false, "not checked: no price to value the order at");
    const notional = price * s.quantity;
    const max = ctx.limits.max_order_notional;
    if (!Number.isSafeInteger(notional)) return verdict(false, `notional ${s.quantity} × ${rupees(price)} is beyond any limit`);
    return verdict(notional <= max, `notional ${rupees(notional)} ${notional <= max ? "within" : "exceeds"} the limit ${rupees(max)}`);
  }),

  MAX_POSITION: guardsNewRisk((s, _state, ctx) => {
    const after = ctx.position + signed(s);
    const max = ctx.limits.max_position_quantity;
    // A position already over a (lowered) limit may always be reduced.
    const ok = Math.abs(after) <= max || Math.abs(after) < Math.abs(ctx.position);
    return verdict(ok, `position ${ctx.position} → ${after}, limit ±${max}`);
  }),

  MAX_ORDERS_PER_DAY: guardsNewRisk((s, _state, ctx) => {
    const max = ctx.limits.max_orders_per_strategy_per_day;
    return verdict(ctx.orders_today < max, `${s.strategy_id} has ${ctx.orders_today} orders today, limit ${max}`);
  }),

  DAILY_LOSS_BREACHED: guardsNewRisk((s, _state, ctx) => {
    const max = ctx.limits.max_daily_loss;
    const breached = ctx.day_pnl < -max;
    const where = `day P&L ${rupees(ctx.day_pnl)}, limit -${rupees(max)}`;
    if (!breached) return verdict(true, where);
    // Unwinding is how a loss stops growing; only new risk is refused.
    return reduces(s, ctx.position) ? verdict(true, `${where}: breached, but the order reduces`) : verdict(false, `${where}: breached`);
  }),

  RATE_LIMITED: guardsNewRisk((_s, state, ctx) => {
    const recent = state.recent_orders.filter((t) => t > ctx.now - RATE_WINDOW_MS && t <= ctx.now).length;
    const max = ctx.limits.max_orders_per_second;
    return verdict(recent < max, `${recent} orders in the last second, limit ${max}`);
  }),
};
