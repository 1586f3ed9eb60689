/**
 * The log port's producer over @platformatic/kafka: idempotent, acks=all, every message keyed and
 * partitioned like Kafka's Java client, at most `maxInFlight` sends at once and `maxQueued` waiting.
 */
import { compatibilityPartitioner, Producer as KafkaClientProducer, type MessageToProduce } from "@platformatic/kafka";
import { AlphaError } from "../errors.ts";
import { toAlphaError } from "./kafka-errors.ts";
import type { OutgoingMessage, Producer, ProducerOptions } from "./port.ts";
import { SendGate } from "./semaphore.ts";
import type { ClientSettings } from "./kafka.ts";

/** Bytes without a copy: a Buffer over the same memory. */
export const bytes = (v: Uint8Array | string): Buffer =>
  typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * Our message as the client's. Keys, values, header names and header values all go as Buffers:
 * with the client's default no-op serializers a string slips through to the record encoder, which
 * throws, and the idempotent producer (which retries forever unless told otherwise) retries that.
 */
function toRecord(m: OutgoingMessage): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  const headers = new Map<Buffer, Buffer>();
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) headers.set(Buffer.from(k, "utf8"), Buffer.from(String(v), "utf8"));
  return { topic: m.topic, key: Buffer.from(m.key, "utf8"), value: bytes(m.value), headers };
}

export class KafkaProducer implements Producer {
  private readonly client: KafkaClientProducer<Buffer, Buffer, Buffer, Buffer>;
  private readonly gate: SendGate;
  private closing: Promise<void> | undefined;

  constructor(
    settings: ClientSettings,
    options: ProducerOptions,
    private readonly onClose: (p: KafkaProducer) => void,
  ) {
    const clientId = options.clientId ?? `${settings.clientId}-producer`;
    this.client = new KafkaClientProducer({
      ...settings,
      clientId,
      // An idempotent producer given retries ≤ 1 (or none) retries forever: a send to a dead
      // cluster would never settle. Two is the least that stays finite.
      retries: Math.max(settings.retries, 2),
      idempotent: true,
      acks: -1,
      // murmur2 with the sign bit cleared, as the Java client and src/log/partitioner.ts: a key
      // lands on the same partition whichever client (or the in-process log) wrote it.
      partitioner: compatibilityPartitioner,
      autocreateTopics: false,
    });
    // The client is an EventEmitter; an 'error' nobody listens to would throw. Failures of a send
    // reach its caller through the send's own promise.
    this.client.on("error", () => {});
    this.gate = new SendGate(options.maxInFlight ?? 8, options.maxQueued ?? 1024, `producer ${clientId}`);
  }

  send(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closing) return Promise.reject(new AlphaError("LOG_CLOSED", "send on a closed producer"));
    for (const m of messages) {
      if (typeof m.key !== "string" || m.key === "") {
        return Promise.reject(new AlphaError("PAYLOAD_INVALID", `message for ${m.topic} has no key; every message must be keyed`));
      }
    }
    if (messages.length === 0) return Promise.resolve();
    // gate.run decides synchronously whether this send runs, waits or is refused (LOG_FULL).
    return this.gate.run(async () => {
      try {
        await this.client.send({ messages: messages.map(toRecord) });
      } catch (err) {
        const topics = [...new Set(messages.map((m) => m.topic))].join(", ");
        throw toAlphaError(err, `send of ${messages.length} message${messages.length === 1 ? "" : "s"} to ${topics}`);
      }
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.gate.idle();
      await this.client.close().catch(() => this.client.close(true).catch(() => {}));
      this.onClose(this);
    })();
    return this.closing;
  }
}
