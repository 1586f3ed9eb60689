/**
 * Envelopes for events a stage emits about an order. An order filled by a later tick must still
 * carry the order's correlation and trace ids (one id through the whole chain), so a stage keeps
 * them per order and builds the envelope itself, with the triggering event as the cause. Its `ts`
 * is the event time of that cause (a tick's exchange time, a command's `ts`), never the wall
 * clock: the same input gives the same envelope.
 */
import type { Broker } from "../../config.ts";
import { ENVELOPE_VERSION, type Envelope } from "../../events/envelope.ts";
import type { EventType, PayloadOf } from "../../events/payloads.ts";

export interface Lineage {
  correlation_id: string;
  trace_id: string;
}

export function orderEvent<T extends EventType>(
  id: string,
  type: T,
  data: PayloadOf<T>,
  o: { broker: Broker; key: string; source: string; cause: Envelope; ts: string; lineage?: Lineage },
): Envelope<T> {
  return {
    id,
    type,
    ts: o.ts,
    correlation_id: o.lineage?.correlation_id ?? o.cause.correlation_id,
    causation_id: o.cause.id,
    trace_id: o.lineage?.trace_id ?? o.cause.trace_id,
    source: o.source,
    version: ENVELOPE_VERSION,
    broker: o.broker,
    key: o.key,
    data,
  };
}
