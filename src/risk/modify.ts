/**
 * Risk's decision on a modify: the order as it would be after the change is judged by the same
 * rules as a new one (so a 1-lot order cannot become a 10,000-lot one behind risk's back), with
 * two differences. The order was counted when it was placed, so the per-day count passes. And the
 * rules about the position (MAX_POSITION, REDUCE_ONLY, DAILY_LOSS_BREACHED) see only what is left
 * to fill: what has filled is already in the position.
 */
import type { PayloadOf } from "../events/payloads.ts";
import type { RiskContext } from "./context.ts";
import { outcomeOf, type RiskCheck, type RiskDecision } from "./decide.ts";
import { REASON_CODES, type ReasonCode } from "./reasons.ts";
import { RULES, type RiskSignal } from "./rules.ts";
import type { RiskState } from "./state.ts";

export type ModifyRequest = PayloadOf<"order.modify">;

/** Rules that judge the order's effect on the position: they see the quantity left to fill. */
const ON_THE_POSITION = new Set<ReasonCode>(["MAX_POSITION", "REDUCE_ONLY", "DAILY_LOSS_BREACHED"]);

/**
 * The modified order as a signal: the whole order (its id is the signal's).
 *
 * @example
 * riskContext(state, modifiedSignal(m), market, now);
 */
export function modifiedSignal(m: ModifyRequest): RiskSignal {
  return {
    signal_id: m.order_id,
    strategy_id: m.strategy_id,
    instrument_token: m.instrument_token,
    side: m.side,
    quantity: m.quantity,
    order_type: m.order_type,
    ...(m.price !== undefined ? { price: m.price } : {}),
    ...(m.trigger_price !== undefined ? { trigger_price: m.trigger_price } : {}),
    ...(m.product !== undefined ? { product: m.product } : {}),
    ...(m.amo ? { amo: true } : {}),
  };
}

/**
 * Validates or rejects a modify. Pure: time is `ctx.now`. `filled_quantity` is what the gateway
 * saw filled: if fills came since, the rest is overstated, which errs on the safe side.
 *
 * @example
 * const d = decideModify(modify, state, riskContext(state, modifiedSignal(modify), market, now));
 */
export function decideModify(m: ModifyRequest, state: RiskState, ctx: RiskContext): RiskDecision {
  const whole = modifiedSignal(m);
  const rest: RiskSignal = { ...whole, quantity: Math.max(0, m.quantity - m.filled_quantity) };
  const checks: RiskCheck[] = REASON_CODES.map((rule) => {
    if (rule === "MAX_ORDERS_PER_DAY") return { rule, passed: true, detail: "a modify: the order was counted when it was placed" };
    // An after-market order released at the open is a resting order like any other: it may be modified while the market is open.
    if (rule === "AMO_MARKET_OPEN") return { rule, passed: true, detail: "a modify places no after-market order" };
    return { rule, ...RULES[rule](ON_THE_POSITION.has(rule) ? rest : whole, state, ctx) };
  });
  return outcomeOf(checks);
}
