/**
 * The log port's producer over @platformatic/kafka: idempotent, acks=all, every message keyed and
 * partitioned like Kafka's Java client, at most `maxInFlight` sends at once and `maxQueued` waiting,
 * written one request at a time (below).
 */
import { Producer as KafkaClientProducer, type MessageToProduce } from "@platformatic/kafka";
import { AlphaError } from "../errors.ts";
import { toAlphaError } from "./kafka-errors.ts";
import type { OutgoingMessage, Producer, ProducerOptions } from "./port.ts";
import { SendGate } from "./semaphore.ts";
import type { ClientSettings } from "./kafka.ts";
import type { ProducerTuning } from "../config-kafka.ts";
import { murmur2Partitioner } from "./kafka-writes.ts";

/** Bytes without a copy: a Buffer over the same memory. */
export const bytes = (v: Uint8Array | string): Buffer =>
  typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * Our messages as the client's. Keys, values, header names and header values all go as Buffers:
 * with the client's default no-op serializers a string slips through to the record encoder, which
 * throws, and the idempotent producer (which retries forever unless told otherwise) retries that.
 *
 * The keys and the string values of one send are encoded into one Buffer and handed over as views
 * of it: an allocation per key and per value was most of the cost of encoding a message.
 */
export function toRecords(messages: readonly OutgoingMessage[]): Array<MessageToProduce<Buffer, Buffer, Buffer, Buffer>> {
  let size = 0;
  for (const m of messages) size += m.key.length + (typeof m.value === "string" ? m.value.length : 0);
  // UTF-16 units: exact for ASCII; a string that needs more room gets a fresh slab below.
  let slab = Buffer.allocUnsafe(size + 64);
  let at = 0;
  const encode = (text: string): Buffer => {
    if (text.length === 0) return Buffer.alloc(0);
    // A string that may not fit (UTF-8 takes at most 3 bytes a UTF-16 unit) is measured; one that
    // does not goes to a fresh slab, as big as the rest of this send could need. So a write is
    // never cut short.
    if (slab.length - at < text.length * 3) {
      const need = Buffer.byteLength(text, "utf8");
      if (need > slab.length - at) {
        slab = Buffer.allocUnsafe(Math.max(need, size - at) + 64);
        at = 0;
      }
    }
    const written = slab.write(text, at, "utf8");
    const view = slab.subarray(at, at + written);
    at += written;
    return view;
  };
  return messages.map((m) => {
    const record: MessageToProduce<Buffer, Buffer, Buffer, Buffer> = {
      topic: m.topic,
      key: encode(m.key),
      value: typeof m.value === "string" ? encode(m.value) : bytes(m.value),
    };
    if (m.headers) {
      const entries = Object.entries(m.headers);
      if (entries.length > 0) record.headers = new Map(entries.map(([k, v]) => [Buffer.from(k, "utf8"), Buffer.from(String(v), "utf8")]));
    }
    return record;
  });
}

/** About the bytes of keys and values (string lengths for strings) one coalesced request carries at most by default (KAFKA_PRODUCER_BATCH_SIZE); a larger send goes alone. */
export const COALESCE_MAX_BYTES = 1024 * 1024;

interface Queued {
  messages: readonly OutgoingMessage[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const sizeOf = (messages: readonly OutgoingMessage[]): number => {
  let n = 0;
  for (const m of messages) n += m.key.length + (typeof m.value === "string" ? m.value.length : m.value.byteLength);
  return n;
};

/**
 * The log port's producer over @platformatic/kafka. One request is in flight at a time: the sends
 * that arrive meanwhile (up to `maxInFlight` of them, `maxQueued` more waiting) go together in the
 * next, in the order they were made. The client assigns a request's sequence numbers before its
 * asynchronous metadata and connection steps and writes it after them, so concurrent requests
 * could reach the broker out of sequence order; the broker refused the late one, and the client's
 * recovery (a new producer id) wrote again what the broker had taken: duplicate records
 * (docs/notes.md).
 */
export class KafkaProducer implements Producer {
  private readonly client: KafkaClientProducer<Buffer, Buffer, Buffer, Buffer>;
  private readonly gate: SendGate;
  private closing: Promise<void> | undefined;
  private readonly queue: Queued[] = [];
  private writing = false;

  private readonly batchBytes: number;
  private readonly lingerMs: number;

  constructor(
    settings: ClientSettings,
    options: ProducerOptions,
    tuning: ProducerTuning,
    private readonly onClose: (p: KafkaProducer) => void,
  ) {
    const clientId = options.clientId ?? `${settings.clientId}-producer`;
    this.batchBytes = tuning.batchBytes;
    this.lingerMs = tuning.lingerMs;
    this.client = new KafkaClientProducer({
      ...settings,
      clientId,
      requestTimeout: tuning.requestTimeoutMs,
      // An idempotent producer given retries ≤ 1 (or none) retries forever: a send to a dead
      // cluster would never settle. Two is the least that stays finite.
      retries: Math.max(tuning.retries, 2),
      idempotent: true,
      acks: -1,
      ...(tuning.compression !== "none" ? { compression: tuning.compression } : {}),
      // murmur2 with the sign bit cleared, as the Java client and src/log/partitioner.ts: a key
      // lands on the same partition whichever client (or the in-process log) wrote it.
      partitioner: murmur2Partitioner,
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
    return this.gate.run(
      () =>
        new Promise<void>((resolve, reject) => {
          this.queue.push({ messages, bytes: sizeOf(messages), resolve, reject });
          if (this.writing) return;
          this.writing = true;
          // A linger lets the sends of the next few ms join this one's request.
          if (this.lingerMs > 0) setTimeout(() => void this.write(), this.lingerMs);
          else void this.write();
        }),
    );
  }

  /** Sends what is queued, one request at a time, each carrying as many queued sends as fit. */
  private async write(): Promise<void> {
    while (this.queue.length > 0) {
      let n = 1;
      let bytes = this.queue[0]!.bytes;
      while (n < this.queue.length && bytes + this.queue[n]!.bytes <= this.batchBytes) bytes += this.queue[n++]!.bytes;
      const group = this.queue.splice(0, n);
      const messages = group.length === 1 ? group[0]!.messages : group.flatMap((g) => g.messages);
      try {
        await this.client.send({ messages: toRecords(messages) });
        for (const g of group) g.resolve();
      } catch (err) {
        const topics = [...new Set(messages.map((m) => m.topic))].join(", ");
        const e = toAlphaError(err, `send of ${messages.length} message${messages.length === 1 ? "" : "s"} to ${topics}`);
        for (const g of group) g.reject(e);
      }
    }
    this.writing = false;
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
