/**
 * The stream processor every stage runs on: consume → decode → dedup → handle → produce → commit.
 *
 * - Dedup on the envelope id (a redelivered event is skipped); ids are marked seen only after the
 *   outputs were acknowledged, and outputs use derived ids (src/events/ids.ts), so a crash between
 *   the two re-sends the same ids and the next stage's dedup drops them. Inputs a stage declares
 *   idempotent (market ticks: handling one twice changes nothing, and what it causes has derived
 *   ids) skip it: one dedup key per tick per stage would fill any cache at feed rates.
 * - Poison (an envelope that does not decode, or a handler error that is not retryable) goes to
 *   `<topic>.dlq` with the original bytes, the original headers and x-dlq-* headers (error, code,
 *   attempts, stage, source topic/partition/offset); the stage carries on.
 * - Transient errors (canRetry) are retried with exponential backoff, a bounded number of times;
 *   past that the batch fails uncommitted and the worker is restarted by its supervisor, so
 *   nothing is lost and nothing transient lands in a DLQ.
 * - Business rejections are events a handler returns, not errors.
 */
import type { Cache } from "../cache/port.ts";
import type { AnyEnvelope, Envelope } from "../events/envelope.ts";
import { decodeEnvelope, encodeEnvelope } from "../events/envelope.ts";
import { AlphaError, isRetryable } from "../errors.ts";
import type { Consumer, Log, LogMessage, OutgoingMessage, Producer } from "../log/port.ts";
import { eventLogger, type Logger } from "../logger.ts";
import { dlqName } from "../topics.ts";

export interface Outgoing {
  topic: string;
  event: Envelope;
}

export type Handle = (event: AnyEnvelope, message: LogMessage, log: Logger) => Promise<Outgoing[]> | Outgoing[];

/** Remembers which envelope ids a stage has handled. */
export interface Dedup {
  seen(ids: readonly string[]): Promise<boolean[]>;
  mark(ids: readonly string[]): Promise<void>;
}

/**
 * Dedup in the cache (Redis or in-memory), one key per id with a TTL longer than any redelivery.
 *
 * @example
 * const dedup = cacheDedup(cache, "risk");
 */
export function cacheDedup(cache: Cache, stage: string, ttlMs = 3 * 24 * 3_600_000): Dedup {
  const key = (id: string) => `dedup:${stage}:${id}`;
  return {
    async seen(ids) {
      if (ids.length === 0) return [];
      return (await cache.mget(ids.map(key))).map((v) => v !== null);
    },
    async mark(ids) {
      await Promise.all(ids.map((id) => cache.set(key(id), "1", ttlMs)));
    },
  };
}

export interface ProcessorOptions {
  stage: string;
  groupId: string;
  topics: readonly string[];
  log: Log;
  producer: Producer;
  dedup: Dedup;
  handle: Handle;
  logger: Logger;
  /** Tries of a transient failure before the batch fails (default 5: 100, 200, 400, 800 ms). */
  attempts?: number;
  backoffMs?: number;
  maxBatchSize?: number;
  /** Called before each batch with the partitions owned now (stages rebuild state on change). */
  onBatch?: (consumer: Consumer) => Promise<void> | void;
  /** Called after a batch was handled, before its outputs are sent (stages flush state here). */
  afterBatch?: () => Promise<void> | void;
  /** Input topics whose messages are not deduplicated by id (handling one twice is harmless). */
  idempotentTopics?: readonly string[];
}

export interface ProcessorStats {
  handled: number;
  duplicates: number;
  deadLettered: number;
  produced: number;
  /** Handled, per input topic. */
  handledByTopic: Record<string, number>;
}

export class StreamProcessor {
  readonly stats: ProcessorStats = { handled: 0, duplicates: 0, deadLettered: 0, produced: 0, handledByTopic: {} };
  private consumer: Consumer | undefined;
  private readonly idempotent: ReadonlySet<string>;

  constructor(private readonly o: ProcessorOptions) {
    this.idempotent = new Set(o.idempotentTopics ?? []);
  }

  get done(): Promise<void> {
    return this.consumer?.done ?? Promise.resolve();
  }

  assignments() {
    return this.consumer?.assignments() ?? [];
  }

  async start(): Promise<void> {
    this.consumer = this.o.log.consumer({ groupId: this.o.groupId, topics: this.o.topics, maxBatchSize: this.o.maxBatchSize, clientId: this.o.stage });
    const consumer = this.consumer;
    await consumer.run(async (batch) => {
      await this.o.onBatch?.(consumer);
      await this.processBatch(batch);
    });
  }

  async close(): Promise<void> {
    await this.consumer?.close();
  }

  /** Handles one batch; resolves when its outputs and dead letters are acknowledged. */
  async processBatch(batch: readonly LogMessage[]): Promise<void> {
    const decoded: Array<{ m: LogMessage; e?: AnyEnvelope; error?: AlphaError }> = batch.map((m) => {
      try {
        return { m, e: decodeEnvelope(m.value) };
      } catch (err) {
        return { m, error: err as AlphaError };
      }
    });
    const ids = decoded.flatMap((d) => (d.e && !this.idempotent.has(d.m.topic) ? [d.e.id] : []));
    const seen = new Set<string>();
    const already = ids.length > 0 ? await this.withRetry("dedup", () => this.o.dedup.seen(ids)) : [];
    ids.forEach((id, i) => already[i] && seen.add(id));

    const out: OutgoingMessage[] = [];
    const handledIds: string[] = [];
    for (const d of decoded) {
      if (!d.e) {
        out.push(this.deadLetter(d.m, d.error!, 1));
        continue;
      }
      if (seen.has(d.e.id)) {
        this.stats.duplicates++;
        continue;
      }
      seen.add(d.e.id);
      const log = eventLogger(this.o.logger, d.e);
      let attempts = 0;
      try {
        const results = await this.withRetry("handle", () => {
          attempts++;
          return this.o.handle(d.e!, d.m, log);
        });
        for (const r of results) out.push({ topic: r.topic, key: r.event.key, value: encodeEnvelope(r.event) });
        if (!this.idempotent.has(d.m.topic)) handledIds.push(d.e.id);
        this.stats.handled++;
        this.stats.handledByTopic[d.m.topic] = (this.stats.handledByTopic[d.m.topic] ?? 0) + 1;
      } catch (err) {
        if (isRetryable(err)) throw err;
        log.error({ err, topic: d.m.topic, offset: d.m.offset }, "poison message: sent to the DLQ");
        out.push(this.deadLetter(d.m, err, attempts));
        handledIds.push(d.e.id);
      }
    }
    if (this.o.afterBatch) await this.withRetry("afterBatch", () => this.o.afterBatch!());
    if (out.length > 0) {
      await this.withRetry("produce", () => this.o.producer.send(out));
      this.stats.produced += out.length;
    }
    if (handledIds.length > 0) await this.withRetry("dedup", () => this.o.dedup.mark(handledIds));
  }

  private deadLetter(m: LogMessage, err: unknown, attempts: number): OutgoingMessage {
    this.stats.deadLettered++;
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
        "x-dlq-stage": this.o.stage,
        "x-dlq-source-topic": m.topic,
        "x-dlq-source-partition": String(m.partition),
        "x-dlq-source-offset": String(m.offset),
        "x-dlq-ts": new Date().toISOString(),
      },
    };
  }

  private async withRetry<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    const attempts = this.o.attempts ?? 5;
    let delay = this.o.backoffMs ?? 100;
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!isRetryable(err)) throw err;
        if (i >= attempts) {
          throw new AlphaError("INTERNAL", `${this.o.stage}: ${what} still failing after ${attempts} attempts: ${(err as Error).message}`, {
            canRetry: true,
            cause: err,
          });
        }
        this.o.logger.warn({ what, attempt: i, retry_in_ms: delay, err: (err as Error).message }, "transient failure; retrying");
        await Bun.sleep(delay);
        delay *= 2;
      }
    }
  }
}
