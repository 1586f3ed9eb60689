/**
 * The stream processor every stage runs on: consume → decode → dedup → handle → produce → commit.
 *
 * - Dedup on the envelope id (src/stage/dedup.ts): ids are marked seen only after the outputs
 *   were acknowledged, and outputs use derived ids (src/events/ids.ts), so a crash between the two
 *   re-sends the same ids and the next stage's dedup drops them. Inputs a stage declares
 *   idempotent (market ticks: handling one twice changes nothing, and what it causes has derived
 *   ids) skip it: one dedup key per tick per stage would fill any cache at feed rates.
 * - Poison (an envelope that does not decode, an event type its topic does not carry (the topic
 *   table's `carries`) or the stage does not handle, or a handler error that is not retryable) goes
 *   to `<topic>.dlq` (src/stage/dead-letter.ts); the stage carries on. A copy replayed from the DLQ
 *   is handled again, once (src/stage/replay.ts).
 * - Transient errors are retried (src/stage/retry.ts); past that the batch fails uncommitted. A
 *   batch still in hand after `handlerTimeoutMs` (a hung store or cache call) fails the same way,
 *   and the processor is fenced: the hung batch, if it ever resumes, produces, saves and marks
 *   nothing.
 * - Business rejections are events a handler returns, not errors.
 * - Conflation is the stage's policy (src/stage/conflation.ts): superseded ticks are not decoded
 *   or handled, and count as handled and as `conflated`.
 * - Hop latency (`inbound`) is sampled per batch (src/stage/latency.ts hopSampler).
 */
import type { AnyEnvelope, Envelope } from "../events/envelope.ts";
import { decodeEnvelope, encodeEnvelope } from "../events/envelope.ts";
import { AlphaError, isRetryable } from "../errors.ts";
import type { EventType } from "../events/payloads.ts";
import type { Consumer, Log, LogMessage, OutgoingMessage, Producer } from "../log/port.ts";
import { eventLogger, type Logger } from "../logger.ts";
import { ConflationPolicy, type Conflation } from "./conflation.ts";
import { deadLetter } from "./dead-letter.ts";
import { Fence } from "./fence.ts";
import type { Dedup } from "./dedup.ts";
import { ReplayBatch, type DeadLetterMarks } from "./replay.ts";
import { hopSampler, LatencyWindow, wallMs } from "./latency.ts";
import { withRetry, type RetryPolicy } from "./retry.ts";
import { eventTypesOf } from "../topics.ts";

export interface Outgoing {
  topic: string;
  event: Envelope;
}

export type Handle = (event: AnyEnvelope, message: LogMessage, log: Logger) => Promise<Outgoing[]> | Outgoing[];

export interface ProcessorOptions {
  stage: string;
  groupId: string;
  topics: readonly string[];
  log: Log;
  producer: Producer;
  dedup: Dedup;
  /** The ids it dead-lettered, so a replay of one from its DLQ is handled again (src/stage/replay.ts). */
  deadLetters?: DeadLetterMarks;
  handle: Handle;
  logger: Logger;
  /** Tries of a transient failure before the batch fails (default 5: 100, 200, 400, 800 ms). */
  attempts?: number;
  backoffMs?: number;
  maxBatchSize?: number;
  /** Called before each batch with the partitions owned now (stages rebuild state on change) and the batch. */
  onBatch?: (consumer: Consumer, batch: readonly LogMessage[]) => Promise<void> | void;
  /** Called after a batch was handled, before its outputs are sent (stages flush state here). */
  afterBatch?: () => Promise<void> | void;
  /**
   * Called once the batch's outputs are acknowledged, before its ids are marked seen and its
   * offsets committed: state that must not get ahead of what was sent is saved here.
   */
  afterSend?: () => Promise<void> | void;
  /** Input topics whose messages are not deduplicated by id (handling one twice is harmless). */
  idempotentTopics?: readonly string[];
  /** Inputs where only a key's latest message matters (src/stage/conflation.ts); must be idempotent. */
  conflation?: Conflation;
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

/** A message of the batch: decoded, failed to decode, or left for later (superseded, maybe skipped). */
type Decoded = { m: LogMessage; envelope?: AnyEnvelope; error?: AlphaError; deferred?: true };

function decode(m: LogMessage): Decoded {
  try {
    return { m, envelope: decodeEnvelope(m.value) };
  } catch (err) {
    return { m, error: err as AlphaError };
  }
}

export class StreamProcessor {
  /**
   * Per hop: for each sampled event of an input the stage does not conflate, the time from its
   * append to the log to the start of the batch that brought it here: the log, the transport and
   * the queue in front of this stage. Summed along the chain it shows where tick → fill time goes.
   */
  readonly inbound = new LatencyWindow();
  readonly stats: ProcessorStats = { handled: 0, duplicates: 0, deadLettered: 0, produced: 0, conflated: 0, handledByTopic: {} };
  private consumer: Consumer | undefined;
  private readonly idempotent: ReadonlySet<string>;
  private readonly conflation: ConflationPolicy;
  /** Per input topic, the types it carries (inputs the topic table does not name are absent). */
  private readonly carried = new Map<string, ReadonlySet<EventType>>();
  private readonly handles: ReadonlySet<EventType> | undefined;
  private readonly retry: RetryPolicy;
  /** Up once a batch outlived handlerTimeoutMs: nothing of this processor may go out after it. */
  private readonly fence = new Fence();

  constructor(private readonly options: ProcessorOptions) {
    this.idempotent = new Set(options.idempotentTopics ?? []);
    this.conflation = new ConflationPolicy(options.conflation);
    for (const t of options.topics) {
      const types = (options.carries ?? eventTypesOf)(t);
      if (types) this.carried.set(t, types);
    }
    this.handles = options.handles && new Set(options.handles);
    for (const t of this.conflation.topics) {
      if (!this.idempotent.has(t)) throw new AlphaError("INTERNAL", `${options.stage}: conflated input ${t} must be idempotent too (a skipped message is never marked seen)`);
    }
    this.retry = { stage: options.stage, attempts: options.attempts, backoffMs: options.backoffMs, logger: options.logger, checkFence: () => this.fence.check() };
  }

  get done(): Promise<void> {
    return this.consumer?.done ?? Promise.resolve();
  }

  assignments() {
    return this.consumer?.assignments() ?? [];
  }

  async start(): Promise<void> {
    const { log, groupId, topics, maxBatchSize, stage } = this.options;
    this.consumer = this.conflation.openConsumer(log, { groupId, topics, maxBatchSize, clientId: stage }, (counts) => this.countConflated(counts));
    const consumer = this.consumer;
    await consumer.run((batch) =>
      this.bounded(batch.length, async () => {
        await this.options.onBatch?.(consumer, batch);
        await this.processBatch(batch);
      }),
    );
  }

  /** A batch's work within handlerTimeoutMs (src/stage/fence.ts). */
  private bounded(size: number, work: () => Promise<void>): Promise<void> {
    const { handlerTimeoutMs: ms, stage, logger } = this.options;
    return this.fence.within(ms, work, () => {
      logger.error({ timeout_ms: ms, batch: size }, "stage handler hung: failing the batch uncommitted");
      const what = `a batch of ${size} message${size === 1 ? "" : "s"}`;
      return new AlphaError("TIMEOUT", `${stage}: ${what} was still in hand after ${ms} ms (STAGE_HANDLER_TIMEOUT_MS); it will be redelivered`, { canRetry: true });
    });
  }

  /** Why an envelope does not belong here: its topic does not carry its type, or the stage does not handle it. */
  private misplaced(e: AnyEnvelope, topic: string): AlphaError | undefined {
    const carries = this.carried.get(topic);
    if (carries && !carries.has(e.type)) return new AlphaError("ENVELOPE_INVALID", `${e.type} is not an event of ${topic}`);
    if (this.handles && !this.handles.has(e.type)) return new AlphaError("ENVELOPE_INVALID", `${this.options.stage} does not handle ${e.type} (from ${topic})`);
    return undefined;
  }

  async close(): Promise<void> {
    await this.consumer?.close();
  }

  /** Counts superseded messages as handled and conflated: those skipped here, or left out before the batch arrived. */
  countConflated(counts: Readonly<Record<string, number>>): void {
    for (const topic in counts) this.countSuperseded(topic, counts[topic]!);
  }

  private countSuperseded(topic: string, n: number): void {
    this.stats.conflated += n;
    this.stats.handled += n;
    this.stats.handledByTopic[topic] = (this.stats.handledByTopic[topic] ?? 0) + n;
  }

  /** The ids of the batch's decoded, deduplicated inputs that were handled before. */
  private async alreadySeen(decoded: readonly Decoded[]): Promise<Set<string>> {
    const ids = decoded.flatMap((entry) => (entry.envelope && !this.idempotent.has(entry.m.topic) ? [entry.envelope.id] : []));
    const seen = new Set<string>();
    if (ids.length === 0) return seen;
    const already = await withRetry(this.retry, "dedup", () => this.options.dedup.seen(ids));
    ids.forEach((id, i) => already[i] && seen.add(id));
    return seen;
  }

  /** Handles one batch; resolves when its outputs and dead letters are acknowledged. */
  async processBatch(batch: readonly LogMessage[]): Promise<void> {
    const arrived = wallMs();
    const superseded = this.conflation.supersededIn(batch);
    // A superseded message is decoded when reached, if it is not skipped then.
    const decoded: Decoded[] = batch.map((m, i) => (superseded?.[i] ? { m, deferred: true } : decode(m)));
    const seen = await this.alreadySeen(decoded);
    const sampled = hopSampler(batch, this.conflation.topics);
    const out: OutgoingMessage[] = [];
    const handledIds: string[] = [];
    const replays = new ReplayBatch(this.options.deadLetters);
    const handle = this.options.handle;
    for (let entry of decoded) {
      // A fenced batch handles nothing more (a handler may act on the world: a venue order).
      this.fence.check();
      const sample = sampled(entry.m);
      if (entry.deferred) {
        if (this.conflation.skips(entry.m.key)) {
          this.countSuperseded(entry.m.topic, 1);
          continue;
        }
        entry = decode(entry.m);
      }
      const m = entry.m;
      const envelope = entry.envelope;
      if (!envelope) {
        out.push(this.deadLettered(m, entry.error!, 1));
        continue;
      }
      if (seen.has(envelope.id) && !(await replays.admits(m, envelope.id))) {
        this.stats.duplicates++;
        continue;
      }
      seen.add(envelope.id);
      const log = eventLogger(this.options.logger, envelope);
      const wrong = this.misplaced(envelope, m.topic);
      if (wrong) {
        log.error({ topic: m.topic, offset: m.offset, err: wrong.message }, "poison message: sent to the DLQ");
        out.push(this.deadLettered(m, wrong, 1));
        if (!this.idempotent.has(m.topic)) {
          handledIds.push(envelope.id);
          replays.deadLettered(envelope.id);
        }
        continue;
      }
      let attempts = 1;
      try {
        let results: Outgoing[];
        // The first try inline (no promise when the handler answers at once, as most ticks do).
        try {
          const r = handle(envelope, m, log);
          results = Array.isArray(r) ? r : await r;
        } catch (err) {
          const again = () => {
            attempts++;
            return handle(envelope, m, log);
          };
          results = await withRetry(this.retry, "handle", again, { err });
        }
        for (const r of results) out.push({ topic: r.topic, key: r.event.key, value: encodeEnvelope(r.event) });
        if (!this.idempotent.has(m.topic)) {
          handledIds.push(envelope.id);
          replays.handled(m, envelope.id);
        }
        // From the log's append, not the envelope's ts: that is the event time of its cause.
        if (sample) this.inbound.recordSince(m.timestamp || undefined, arrived);
        this.stats.handled++;
        this.stats.handledByTopic[m.topic] = (this.stats.handledByTopic[m.topic] ?? 0) + 1;
      } catch (err) {
        if (isRetryable(err)) throw err;
        log.error({ err, topic: m.topic, offset: m.offset }, "poison message: sent to the DLQ");
        out.push(this.deadLettered(m, err, attempts));
        handledIds.push(envelope.id);
        if (!this.idempotent.has(m.topic)) replays.deadLettered(envelope.id);
      }
    }
    await this.finishBatch(out, handledIds, replays);
  }

  /** After the handler: flush, send and wait for the acks, save, then mark the ids seen. */
  private async finishBatch(out: OutgoingMessage[], handledIds: string[], replays: ReplayBatch): Promise<void> {
    const { afterBatch, afterSend, producer, dedup } = this.options;
    if (afterBatch) await withRetry(this.retry, "afterBatch", () => afterBatch());
    if (out.length > 0) {
      await withRetry(this.retry, "produce", () => producer.send(out));
      this.stats.produced += out.length;
    }
    if (afterSend) await withRetry(this.retry, "afterSend", () => afterSend());
    await withRetry(this.retry, "dedup", () => replays.settle(async () => void (handledIds.length > 0 && (await dedup.mark(handledIds)))));
  }

  private deadLettered(m: LogMessage, err: unknown, attempts: number): OutgoingMessage {
    this.stats.deadLettered++;
    return deadLetter(m, err, attempts, this.options.stage);
  }
}
