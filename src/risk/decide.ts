/**
 * Risk's decision on one signal. Every rule runs and is recorded, so a rejection shows all that
 * is wrong with the order, not only the first thing.
 */
import type { RiskContext } from "./context.ts";
import { REASON_CODES, type ReasonCode } from "./reasons.ts";
import { RULES, type RiskSignal } from "./rules.ts";
import type { RiskState } from "./state.ts";

export interface RiskCheck {
  rule: ReasonCode;
  passed: boolean;
  detail?: string;
}

export type RiskDecision =
  | { outcome: "validated"; checks: RiskCheck[] }
  | { outcome: "rejected"; checks: RiskCheck[]; reason_code: ReasonCode; message: string };

/**
 * Validates or rejects a signal. Pure: time is `ctx.now`.
 *
 * @example
 * const d = decide(signal, state, riskContext(state, signal, { instrument, last_price }, now));
 * if (d.outcome === "validated") state = evolve(state, { type: "SignalValidated", strategy_id, instrument_token, at: now });
 */
export function decide(signal: RiskSignal, state: RiskState, ctx: RiskContext): RiskDecision {
  return outcomeOf(REASON_CODES.map((rule) => ({ rule, ...RULES[rule](signal, state, ctx) })));
}

/** The decision the checks make: rejected with the first failure's reason, every failure in the message. */
export function outcomeOf(checks: RiskCheck[]): RiskDecision {
  const failed = checks.filter((c) => !c.passed);
  const first = failed[0];
  if (!first) return { outcome: "validated", checks };
  return {
    outcome: "rejected",
    checks,
    reason_code: first.rule,
    message: failed.map((c) => `${c.rule}: ${c.detail}`).join("; "),
  };
}
