/**
 * The stream processor every stage runs on: consume → decode → dedup → handle → produce → commit.
 *
 * - Dedup on the envelope id (a redelivered event is skipped); ids are marked seen only after the
 *   outputs were acknowledged, and outputs use derived ids (src/events/ids.ts), so a crash between
 *   the two re-sends the same ids and the next stage's dedup drops them. Inputs a stage declares
 *   idempotent (market ticks: handling one twice changes nothing, and what it causes has derived
 *   ids) skip it: one dedup key per tick per stage would fill any cache at feed rates.
 * - Poison (an envelope that does not decode, an event type its topic does not carry (the topic
 *   table's `carries`) or the stage does not handle, or a handler error that is not retryable) goes
 *   to `<topic>.dlq` with the original bytes, the original headers and x-dlq-* headers (error,
 *   code, attempts, stage, source topic/partition/offset); the stage carries on. Nothing is
 *   ignored without a trace.
 * - Transient errors (canRetry) are retried with exponential backoff, a bounded number of times;
 *   past that the batch fails uncommitted and the worker is restarted by its supervisor, so
 *   nothing is lost and nothing transient lands in a DLQ. A batch still in hand after
 *   `handlerTimeoutMs` (a hung store or cache call) fails the same way, and the processor is
 *   fenced: the hung batch, if it ever resumes, produces, saves and marks nothing.
 * - Business rejections are events a handler returns, not errors.
 * - Conflation: on inputs a stage declares conflatable (market ticks, for the stages that only
 *   need an instrument's latest price), a message followed in the same batch by another of the
 *   same topic and key, with no message of a non-conflated input between them, is not decoded or
 *   handled when the stage's `when(key)` says so at that point of the batch. Every other input
 *   sees exactly the state it would have seen; the skipped messages are counted as handled and as
 *   `conflated`. A stage without `when`, or whose `when` comes with `except` (the keys it refuses
 *   now), lets its consumer drop them (ConsumerOptions.conflate): the worker's view of the
 *   in-process log does so on the main thread, so they never cross over.
 */
import type { Cache } from "../cache/port.ts";
import type { AnyEnvelope, Envelope } from "../events/envelope.ts";
import { decodeEnvelope, encodeEnvelope } from "../events/envelope.ts";
import { AlphaError, isRetryable } from "../errors.ts";
import type { EventType } from "../events/payloads.ts";
import type { Consumer, Log, LogMessage, OutgoingMessage, Producer } from "../log/port.ts";
import { eventLogger, type Logger } from "../logger.ts";
import { LatencyWindow, wallMs } from "./latency.ts";
import { superseded as supersededIn } from "../log/conflate.ts";
import { dlqName, eventTypesOf } from "../topics.ts";

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

/**
 * Dedup for a stage that is the only one marking its ids: the embedded mode, where the cache lives
 * on the main thread and each stage has one worker. The ids are kept in the worker too, so `seen`
 * answers without a round trip to the main thread (it was ~0.4 ms of every signal's path through
 * risk and through execution, several ms when the main thread was busy), and written through to
 * the cache, where a restarted worker finds them: it loads them when it starts. An id is
 * forgotten after `ttlMs` here as in the cache.
 *
 * Not for a cache other processes mark in too (Redis, several gateways): an id one of them
 * marked would not be seen here.
 *
 * @example
 * const dedup = await rememberingDedup(cache, "risk", 120_000);
 */
export async function rememberingDedup(cache: Cache, stage: string, ttlMs: number): Promise<Dedup> {
  const inCache = cacheDedup(cache, stage, ttlMs);
  const prefix = `dedup:${stage}:`;
  // id → when it is forgotten. One TTL for all, so insertion order is expiry order.
  const known = new Map<string, number>();
  const loadedUntil = Date.now() + ttlMs;
  for (const key of await cache.keys(prefix)) known.set(key.slice(prefix.length), loadedUntil);
  const forget = (now: number) => {
    for (const [id, until] of known) {
      if (until > now) break;
      known.delete(id);
    }
  };
  return {
    async seen(ids) {
      const now = Date.now();
      return ids.map((id) => (known.get(id) ?? 0) > now);
    },
    async mark(ids) {
      await inCache.mark(ids);
      const now = Date.now();
      forget(now);
      for (const id of ids) {
        known.delete(id);
        known.set(id, now + ttlMs);
      }
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
  /**
   * Called once the batch's outputs are acknowledged, before its ids are marked seen and its
   * offsets committed: state that must not get ahead of what was sent is saved here.
   */
  afterSend?: () => Promise<void> | void;
  /** Input topics whose messages are not deduplicated by id (handling one twice is harmless). */
  idempotentTopics?: readonly string[];
  /** Inputs where only a key's latest message matters (see the top of this file); must be idempotent. */
  conflate?: Conflate;
  /**
   * The event types each input topic carries; another type found there is poison. Default: the
   * topic table's declaration (src/topics.ts); a topic the table does not name is not checked.
   */
  carries?: (topic: string) => ReadonlySet<EventType> | undefined;
  /** The event types the handler handles; a carried type outside them is poison too (default: all). */
  handles?: readonly EventType[];
  /**
   * The longest a batch may be in hand (handler, store and cache calls, the sends); past it the
   * batch fails uncommitted as a transient failure and the processor is fenced (default: no limit).
   */
  handlerTimeoutMs?: number;
}

export interface Conflate {
  topics: readonly string[];
  /** Whether a superseded message of this key may be skipped now (default: always). */
  when?: (key: string) => boolean;
  /**
   * With `when`: the keys it answers false for now (every other key's answer must be true). The
   * consumer may then leave out the other keys' superseded messages before the batch arrives
   * (ConsumerOptions.conflateExcept: embedded, on the main thread), and `when` decides the rest.
   */
  except?: () => Iterable<string>;
}

export interface ProcessorStats {
  handled: number;
  duplicates: number;
  deadLettered: number;
  produced: number;
  /** Of those handled, skipped because a later message of the same key superseded them. */
  conflated: number;
  /** Handled, per input topic. */
  handledByTopic: Record<string, number>;
}

function decode(m: LogMessage): { m: LogMessage; e?: AnyEnvelope; error?: AlphaError } {
  try {
    return { m, e: decodeEnvelope(m.value) };
  } catch (err) {
    return { m, error: err as AlphaError };
  }
}

/** At most about this many hop samples a batch (StreamProcessor.inbound). */
export const INBOUND_SAMPLES = 64;

export class StreamProcessor {
  /**
   * Per hop: for each handled event of an input the stage does not conflate, the time from its
   * creation (its envelope's `ts`, whole ms, so a sample reads high by under 1 ms) to the start of
   * the batch that brought it here: the log, the transport and the queue in front of this stage.
   * Ticks in the strategy stage, signals in risk, validated signals in execution, fills in the
   * portfolio; summed along the chain it shows where tick → fill time goes. A batch with more than
   * INBOUND_SAMPLES such messages records every (their number / INBOUND_SAMPLES)-th, rounded up.
   */
  readonly inbound = new LatencyWindow();
  readonly stats: ProcessorStats = { handled: 0, duplicates: 0, deadLettered: 0, produced: 0, conflated: 0, handledByTopic: {} };
  private consumer: Consumer | undefined;
  private readonly idempotent: ReadonlySet<string>;
  private readonly conflatable: ReadonlySet<string>;
  /** Per input topic, the types it carries (inputs the topic table does not name are absent). */
  private readonly carried = new Map<string, ReadonlySet<EventType>>();
  private readonly handles: ReadonlySet<EventType> | undefined;
  /** Set when a batch outlived handlerTimeoutMs: nothing of this processor may go out after it. */
  private fenced: AlphaError | undefined;

  constructor(private readonly o: ProcessorOptions) {
    this.idempotent = new Set(o.idempotentTopics ?? []);
    this.conflatable = new Set(o.conflate?.topics ?? []);
    for (const t of o.topics) {
      const types = (o.carries ?? eventTypesOf)(t);
      if (types) this.carried.set(t, types);
    }
    this.handles = o.handles && new Set(o.handles);
    for (const t of this.conflatable) {
      if (!this.idempotent.has(t)) throw new AlphaError("INTERNAL", `${o.stage}: conflated input ${t} must be idempotent too (a skipped message is never marked seen)`);
    }
  }

  get done(): Promise<void> {
    return this.consumer?.done ?? Promise.resolve();
  }

  assignments() {
    return this.consumer?.assignments() ?? [];
  }

  async start(): Promise<void> {
    // The consumer may drop superseded messages itself, unless the stage's `when` decides
    // message by message (it sees the stage's state, which the consumer does not).
    const c = this.o.conflate;
    const conflate = this.conflatable.size > 0 && (!c?.when || c.except) ? [...this.conflatable] : undefined;
    const conflateExcept = conflate && c?.when ? c.except : undefined;
    this.consumer = this.o.log.consumer({ groupId: this.o.groupId, topics: this.o.topics, maxBatchSize: this.o.maxBatchSize, clientId: this.o.stage, conflate, conflateExcept });
    const consumer = this.consumer;
    await consumer.run((batch, skipped) =>
      this.bounded(batch.length, async () => {
        await this.o.onBatch?.(consumer);
        await this.processBatch(batch, skipped);
      }),
    );
  }

  /**
   * Runs a batch's work within handlerTimeoutMs. Past it the batch fails (uncommitted, retryable:
   * the worker is restarted and the batch redelivered) and the processor is fenced, so the hung
   * work, should it ever resume, sends, saves and marks nothing.
   */
  private async bounded(size: number, work: () => Promise<void>): Promise<void> {
    this.fence();
    const ms = this.o.handlerTimeoutMs;
    if (ms === undefined) return work();
    let timer: Timer | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.fenced = new AlphaError("TIMEOUT", `${this.o.stage}: a batch of ${size} message${size === 1 ? "" : "s"} was still in hand after ${ms} ms (STAGE_HANDLER_TIMEOUT_MS); it will be redelivered`, {
          canRetry: true,
        });
        this.o.logger.error({ timeout_ms: ms, batch: size }, "stage handler hung: failing the batch uncommitted");
        reject(this.fenced);
      }, ms);
    });
    try {
      await Promise.race([work(), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Throws once the processor is fenced (a batch timed out). */
  private fence(): void {
    if (this.fenced) throw this.fenced;
  }

  /** Why an envelope does not belong here: a type its topic does not carry, or the stage does not handle. */
  private misplaced(e: AnyEnvelope, topic: string): AlphaError | undefined {
    const carries = this.carried.get(topic);
    if (carries && !carries.has(e.type)) return new AlphaError("ENVELOPE_INVALID", `${e.type} is not an event of ${topic}`);
    if (this.handles && !this.handles.has(e.type)) return new AlphaError("ENVELOPE_INVALID", `${this.o.stage} does not handle ${e.type} (from ${topic})`);
    return undefined;
  }

  async close(): Promise<void> {
    await this.consumer?.close();
  }

  /**
   * Handles one batch; resolves when its outputs and dead letters are acknowledged. `skipped`: the
   * superseded messages the consumer already left out (ConsumerOptions.conflate), per topic.
   */
  async processBatch(batch: readonly LogMessage[], skipped?: Readonly<Record<string, number>>): Promise<void> {
    const arrived = wallMs();
    const superseded = this.conflatable.size > 0 ? supersededIn(batch, this.conflatable) : undefined;
    const decoded: Array<{ m: LogMessage; e?: AnyEnvelope; error?: AlphaError; later?: true }> = batch.map((m, i) => {
      // Decoded when reached, if it is not skipped then.
      if (superseded?.[i]) return { m, later: true };
      return decode(m);
    });
    const ids = decoded.flatMap((d) => (d.e && !this.idempotent.has(d.m.topic) ? [d.e.id] : []));
    const seen = new Set<string>();
    const already = ids.length > 0 ? await this.withRetry("dedup", () => this.o.dedup.seen(ids)) : [];
    ids.forEach((id, i) => already[i] && seen.add(id));

    const out: OutgoingMessage[] = [];
    const handledIds: string[] = [];
    const when = this.o.conflate?.when;
    // Hop latency on at most ~64 evenly spaced messages of the non-conflated inputs: a big batch
    // of ticks is not made to pay ~0.5 µs a tick for it, and a rare signal among conflated ticks
    // is always taken.
    let inputs = 0;
    for (const m of batch) if (!this.conflatable.has(m.topic)) inputs++;
    const stride = Math.ceil(inputs / INBOUND_SAMPLES);
    let at = -1;
    for (let d of decoded) {
      // A fenced batch handles nothing more (a handler may act on the world: a venue order).
      this.fence();
      const sampled = !this.conflatable.has(d.m.topic) && ++at % stride === 0;
      if (d.later) {
        if (!when || when(d.m.key)) {
          this.stats.conflated++;
          this.stats.handled++;
          this.stats.handledByTopic[d.m.topic] = (this.stats.handledByTopic[d.m.topic] ?? 0) + 1;
          continue;
        }
        d = decode(d.m);
      }
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
      const e = d.e;
      const wrong = this.misplaced(e, d.m.topic);
      if (wrong) {
        log.error({ topic: d.m.topic, offset: d.m.offset, err: wrong.message }, "poison message: sent to the DLQ");
        out.push(this.deadLetter(d.m, wrong, 1));
        if (!this.idempotent.has(d.m.topic)) handledIds.push(e.id);
        continue;
      }
      let attempts = 1;
      try {
        let results: Outgoing[];
        // The first try inline (no promise when the handler answers at once, as most ticks do).
        try {
          const r = this.o.handle(e, d.m, log);
          results = Array.isArray(r) ? r : await r;
        } catch (err) {
          results = await this.withRetry(
            "handle",
            () => {
              attempts++;
              return this.o.handle(e, d.m, log);
            },
            { err },
          );
        }
        for (const r of results) out.push({ topic: r.topic, key: r.event.key, value: encodeEnvelope(r.event) });
        if (!this.idempotent.has(d.m.topic)) handledIds.push(d.e.id);
        // From the log's append, not the envelope's ts: that is the event time of its cause.
        if (sampled) this.inbound.recordSince(d.m.timestamp || undefined, arrived);
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
    if (this.o.afterSend) await this.withRetry("afterSend", () => this.o.afterSend!());
    if (handledIds.length > 0) await this.withRetry("dedup", () => this.o.dedup.mark(handledIds));
    if (skipped) {
      for (const topic in skipped) {
        const n = skipped[topic]!;
        this.stats.conflated += n;
        this.stats.handled += n;
        this.stats.handledByTopic[topic] = (this.stats.handledByTopic[topic] ?? 0) + n;
      }
    }
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

  /** Runs `fn`, retrying transient failures with backoff; `failed`: its first try already failed so. */
  private async withRetry<T>(what: string, fn: () => Promise<T> | T, failed?: { err: unknown }): Promise<T> {
    const attempts = this.o.attempts ?? 5;
    let delay = this.o.backoffMs ?? 100;
    let err: unknown;
    if (failed) err = failed.err;
    else {
      this.fence();
      try {
        return await fn();
      } catch (e) {
        err = e;
      }
    }
    for (let i = 1; ; i++) {
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
      this.fence();
      try {
        return await fn();
      } catch (e) {
        err = e;
      }
    }
  }
}
