/**
 * Poison goes to `<topic>.dlq` with the original bytes, the original headers and x-dlq-* headers
 * (error, code, attempts, stage, source topic/partition/offset), so nothing is ignored without a
 * trace and the stage carries on.
 */
import type { AlphaError } from "../errors.ts";
import type { LogMessage, OutgoingMessage } from "../log/port.ts";
import { dlqName } from "../topics.ts";

/**
 * @example
 * out.push(deadLetter(message, err, 1, "risk"));
 */
export function deadLetter(m: LogMessage, err: unknown, attempts: number, stage: string): OutgoingMessage {
  const e = err as Partial<AlphaError> & Error;
  return {
    topic: dlqName(m.topic),
    key: m.key || "none",
    value: m.value,
    headers: {
      ...m.headers,
      "x-dlq-error": String(e?.message ?? err).slice(0, 2_000),
      "x-dlq-error-code": String(e?.code ?? "INTERNAL"),
      "x-dlq-attempts": String(attempts),
      "x-dlq-stage": stage,
      "x-dlq-source-topic": m.topic,
      "x-dlq-source-partition": String(m.partition),
      "x-dlq-source-offset": String(m.offset),
      "x-dlq-ts": new Date().toISOString(),
    },
  };
}
