/**
 * The risk stage's answer to an `order.modify` (src/risk/modify.ts decides): passed on to the
 * execution stage as `order.modify_validated` on signals.validated (same key, so it follows the
 * order's own signal), or refused as `order.modify_rejected` on the order topic that carries
 * refused cancels, with the checks that ran. Nothing is counted: the order was when it was placed.
 * The output's id is derived from the command's, so a redelivery writes the same.
 */
import type { Broker } from "../../config.ts";
import { childOf, type Envelope } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import { decideModify, modifiedSignal, riskContext, type RiskState } from "../../risk/index.ts";
import { topicCarrying, topicName } from "../../topics.ts";
import type { Outgoing } from "../processor.ts";

/**
 * @example
 * const out = judgeModify(e, "paper", state, { instrument, last_price }, Date.parse(e.ts));
 */
export function judgeModify(
  e: Envelope<"order.modify">,
  broker: Broker,
  state: RiskState,
  market: Parameters<typeof riskContext>[2],
  at: number,
): Outgoing {
  const m = e.data;
  const d = decideModify(m, state, riskContext(state, modifiedSignal(m), market, at));
  const id = derivedId(e.id, "risk");
  if (d.outcome === "validated") {
    const child = childOf(e, { type: "order.modify_validated", source: "risk", broker, key: e.key, data: { ...m, checks: d.checks } });
    return { topic: topicName(topicCarrying("order.modify_validated"), broker), event: { ...child, id } };
  }
  const child = childOf(e, {
    type: "order.modify_rejected",
    source: "risk",
    broker,
    key: e.key,
    data: { order_id: m.order_id, instrument_token: m.instrument_token, reason_code: d.reason_code, message: d.message, checks: d.checks },
  });
  return { topic: topicName(topicCarrying("order.modify_rejected"), broker), event: { ...child, id } };
}
