/**
 * Controls are commands on the log: the trading state (the kill switch), the risk limits and the
 * strategies of a broker are written to `{broker}.control` (one partition, compacted, keyed by
 * what the command sets) and every stage applies them in log order (src/control/reader.ts).
 */
import type { Broker } from "../config.ts";
import { createEvent, encodeEnvelope, type Envelope } from "../events/envelope.ts";
import type { PayloadOf } from "../events/payloads.ts";
import type { Producer } from "../log/port.ts";
import { topicName } from "../topics.ts";

export type ControlType = "control.trading_state" | "control.limits" | "control.strategy";

/** A control command: the payloads are those of src/events/payloads.ts (validated there). */
export type ControlCommand = { [T in ControlType]: { type: T; data: PayloadOf<T> } }[ControlType];

export type StrategyDef = PayloadOf<"control.strategy">;

/** Whether an event type is a control command. */
export const isControlType = (type: string): type is ControlType =>
  type === "control.trading_state" || type === "control.limits" || type === "control.strategy";

/**
 * The key a command goes under: what it sets, so compaction keeps the latest of each.
 *
 * @example
 * controlKey({ type: "control.strategy", data: { id: "momentum_fast", … } }); // "strategy:momentum_fast"
 */
export function controlKey(cmd: ControlCommand): string {
  if (cmd.type === "control.trading_state") return "trading_state";
  if (cmd.type === "control.limits") return "limits";
  return `strategy:${cmd.data.id}`;
}

/**
 * The command as an envelope for `{broker}.control`, for a stage that returns it as an output
 * (risk's daily-loss halt) rather than sending it itself.
 */
export function controlEnvelope(broker: Broker, cmd: ControlCommand, source: string): Envelope {
  return createEvent({ type: cmd.type, source, broker, key: controlKey(cmd), data: cmd.data } as never) as Envelope;
}

/**
 * Writes the command to `{broker}.control` and resolves once the log acknowledged it (acks=all):
 * from then on a signal created is judged under it.
 *
 * @example
 * await sendControl(producer, "paper", { type: "control.trading_state", data: { state: "HALTED", reason: "end of day" } }, "gateway.api");
 */
export async function sendControl(producer: Producer, broker: Broker, cmd: ControlCommand, source: string): Promise<void> {
  const e = controlEnvelope(broker, cmd, source);
  await producer.send([{ topic: topicName("control", broker), key: e.key, value: encodeEnvelope(e) }]);
}
