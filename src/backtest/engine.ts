/**
 * The live pipeline's stages in one thread: the very modules the workers run (src/stage/stages.ts
 * STAGES: strategy, risk, execution, portfolio), built on a StageContext of their own (an
 * in-process log, the in-memory cache, an embedded database) and driven by a deterministic
 * dispatcher in place of the stream processor:
 *
 * - A tick goes to the first stage that consumes market.ticks (strategy) at once, as a batch of
 *   one; what it produced goes, in the order produced, to the stages that consume its topic,
 *   depth-first (all of one event's consumers, then its children), before the next tick. That is
 *   what a live pipeline does when each tick is handled before the next arrives.
 * - The other stages' ticks (risk, execution, portfolio) wait in a batch that is delivered, in
 *   order, before anything the strategy produced, at 1,000 ticks and at the end; and at once for a tick a stage will not conflate (execution, where an order rests:
 *   that tick may fill it). On a tick they produce nothing else, so each stage has seen every tick
 *   before a later event reaches it, as when every tick is its own batch; the batch lets them
 *   conflate as the live processor does (a tick superseded by a later one of its instrument in
 *   the batch is skipped when the stage's conflation says so: src/stage/conflation.ts).
 * - Each batch has the processor's hooks around it: onBatch, handle, afterBatch, the "send" (the
 *   outputs become the next deliveries). afterSend runs every 10,000 ticks and at the end, for
 *   the stages that had a batch since: it only saves what a restart would load, and a backtest
 *   never restarts, so fewer saves leave the same rows at a fraction of the round trips.
 * - A stage's own work due at an event time (`dueAt`: the risk stage's day's end) gets the waiting
 *   ticks at the first tick at or after it, so that tick is handled, not conflated into a later one.
 * - `every` runs by event time: when a tick's time reaches the next due time (the live processor
 *   runs it on a wall-clock timer, between batches, whatever ticks are still waiting: so does this).
 * - No JSON per hop: an envelope is handed on as the object the stage made (no stage changes
 *   an envelope it was given). Nothing is deduplicated: nothing is delivered twice.
 * - A handler error that is not retryable is counted as the processor would dead-letter it, and
 *   the run goes on; a retryable one (a store that failed) stops the run.
 *
 * The orders companion is not run: it only writes the orders read model, and the backtest keeps
 * its own (orders.jsonl, from the same events).
 */
import type { AnyEnvelope, Envelope } from "../events/envelope.ts";
import { isRetryable } from "../errors.ts";
import type { Consumer, LogMessage } from "../log/port.ts";
import type { StageContext } from "../stage/context.ts";
import type { Outgoing } from "../stage/processor.ts";
import type { Stage } from "../stage/stage.ts";
import { ConflationPolicy, supersededKeys } from "../stage/conflation.ts";
import { STAGE_NAMES, STAGES } from "../stage/stages.ts";
import { topicName } from "../topics.ts";
import type { InputTick } from "./input.ts";
import { replayEnvelope } from "../market/replay.ts";

/** What the dispatcher tells its observer, in the order it happens. */
export interface Observer {
  /** A tick, before any stage has it. */
  tick(t: InputTick, atMs: number): void;
  /** An event a stage produced, when it is "sent" (before its consumers get it). */
  event(topic: string, e: Envelope, atMs: number): void;
  /** A message a stage could not handle (the live processor would dead-letter it). */
  deadLetter(stage: string, topic: string, e: AnyEnvelope, err: Error): void;
}

interface Bound {
  name: string;
  stage: Stage;
  consumer: Consumer;
  /** The stage's conflation, applied by the processor's own rule. */
  conflation: ConflationPolicy;
}

const NO_BYTES = new Uint8Array(0);
const TICKS = topicName("marketTicks");

/** A consumer that owns partition 0 of each of the stage's inputs: one member, every key. */
function soleConsumer(topics: readonly string[]): Consumer {
  // The same array every time (stages sort it in place: it stays sorted).
  const owned = topics.map((topic) => ({ topic, partition: 0 }));
  return {
    run: async () => {},
    done: Promise.resolve(),
    assignments: () => owned,
    close: async () => {},
  };
}

/** A batch's deliveries: the envelope and its message, and the time of the tick that caused it. */
interface Delivery {
  e: AnyEnvelope;
  m: LogMessage;
  at: number;
}

/** An output and the time of the delivery that produced it. */
interface Sent {
  o: Outgoing;
  at: number;
}

/** Most ticks a waiting batch holds. */
const MAX_BATCH = 1_000;
/** Ticks between two rounds of afterSend. */
const SEND_EVERY = 10_000;

export interface Pipeline {
  /** Runs every tick through the stages, in order; `progress` after each tick. */
  run(ticks: readonly InputTick[], observer: Observer, progress?: (done: number) => void): Promise<void>;
}

/**
 * Builds the stages on the given resources (the controls must be in place already: the stages
 * read them when they are built).
 *
 * @example
 * const pipeline = await buildPipeline({ config, logger, log, db, cache, instruments: master });
 * await pipeline.run(input.ticks, observer);
 */
export async function buildPipeline(r: Omit<StageContext, "producer" | "close">): Promise<Pipeline> {
  const producer = r.log.producer({ clientId: "backtest" });
  const ctx: StageContext = { ...r, producer, close: () => producer.close() };
  const bound: Bound[] = [];
  for (const name of STAGE_NAMES) {
    const stage = await STAGES[name].build(ctx);
    bound.push({ name, stage, consumer: soleConsumer(stage.topics), conflation: new ConflationPolicy(stage.conflation) });
  }
  const routes = new Map<string, Bound[]>();
  for (const b of bound) for (const t of b.stage.topics) routes.set(t, [...(routes.get(t) ?? []), b]);
  const [first, ...later] = routes.get(TICKS) ?? [];
  const periodic = bound.filter((b) => b.stage.every).map((b) => ({ b, ms: b.stage.every!.ms, due: NaN }));
  const offsets = new Map<string, number>();
  const logger = r.logger;

  let observer: Observer;
  /** The last waiting batch's superseded ticks: every later stage is given the same batch. */
  let lastSkip: { of: readonly Delivery[]; skip: Uint8Array } | undefined;
  const supersededIn = (deliveries: readonly Delivery[]) => {
    if (lastSkip?.of !== deliveries) lastSkip = { of: deliveries, skip: supersededKeys(deliveries.map((d) => d.m.key)) };
    return lastSkip.skip;
  };
  /** The later stages' ticks, waiting. */
  let waiting: Delivery[] = [];
  /** The stages that had a batch since their last afterSend. */
  const unsent = new Set<Bound>();

  /**
   * Messages to one stage as one batch; its outputs appended to `out`. Ticks superseded later in
   * the batch are skipped where the stage conflates them (the processor's rule).
   */
  async function batch(b: Bound, deliveries: readonly Delivery[], out: Sent[]): Promise<void> {
    const s = b.stage;
    if (s.onBatch) {
      const p = s.onBatch(b.consumer);
      if (p) await p;
    }
    const skip = deliveries.length > 1 && b.conflation.topics.has(TICKS) ? supersededIn(deliveries) : undefined;
    const produced: Sent[] = [];
    for (let i = 0; i < deliveries.length; i++) {
      const d = deliveries[i]!;
      if (skip?.[i] && b.conflation.skips(d.m.key)) continue;
      try {
        const h = s.handle(d.e, d.m, logger);
        const outs = Array.isArray(h) ? h : await h;
        for (const o of outs) produced.push({ o, at: d.at });
      } catch (err) {
        if (isRetryable(err)) throw err;
        observer.deadLetter(b.name, d.m.topic, d.e, err as Error);
      }
    }
    if (s.afterBatch) {
      const p = s.afterBatch();
      if (p) await p;
    }
    for (const p of produced) {
      observer.event(p.o.topic, p.o.event, p.at);
      out.push(p);
    }
    if (s.afterSend) unsent.add(b);
  }

  async function afterSends(): Promise<void> {
    for (const b of unsent) {
      const p = b.stage.afterSend!();
      if (p) await p;
    }
    unsent.clear();
  }

  function message(topic: string, e: Envelope, at: number): LogMessage {
    const offset = offsets.get(topic) ?? 0;
    offsets.set(topic, offset + 1);
    return { topic, partition: 0, offset, key: e.key, value: NO_BYTES, headers: {}, timestamp: at };
  }

  /** What was sent, each to every stage that consumes its topic, then its children: depth-first. */
  async function deliverAll(sent: readonly Sent[]): Promise<void> {
    for (const { o, at } of sent) {
      const consumers = routes.get(o.topic);
      if (!consumers) continue;
      const d: Delivery[] = [{ e: o.event as AnyEnvelope, m: message(o.topic, o.event, at), at }];
      const out: Sent[] = [];
      for (const b of consumers) await batch(b, d, out);
      if (out.length > 0) await deliverAll(out);
    }
  }

  /** The waiting ticks to the later stages, in order, then what they produced. */
  async function flush(): Promise<void> {
    if (waiting.length === 0) return;
    const ticks = waiting;
    waiting = [];
    const out: Sent[] = [];
    for (const b of later) await batch(b, ticks, out);
    if (out.length > 0) await deliverAll(out);
  }

  /**
   * A tick to the first stage: as `batch`, but with no promise when the stage has no hooks and
   * answers at once (the strategy stage, on nearly every tick).
   */
  function firstBatch(d: Delivery, out: Sent[]): Promise<void> | undefined {
    const s = first!.stage;
    if (s.onBatch || s.afterBatch || s.afterSend) return batch(first!, [d], out);
    let h: ReturnType<Stage["handle"]>;
    try {
      h = s.handle(d.e, d.m, logger);
    } catch (err) {
      if (isRetryable(err)) throw err;
      observer.deadLetter(first!.name, d.m.topic, d.e, err as Error);
      return undefined;
    }
    if (!Array.isArray(h)) return h.then((outs) => void sendAll(outs, d.at, out));
    if (h.length > 0) sendAll(h, d.at, out);
    return undefined;
  }

  function sendAll(outs: Outgoing[], at: number, out: Sent[]): void {
    for (const o of outs) {
      observer.event(o.topic, o.event, at);
      out.push({ o, at });
    }
  }

  /** Whether a stage would not conflate this tick now (it must see it before anything else). */
  const urgent = (key: string) => later.some((b) => b.conflation.refuses(key));
  /** The stages with work of their own at an event time (the risk stage's day's end). */
  const timed = later.filter((b) => b.stage.dueAt);
  /** Whether a stage's own work is due at `atMs`: the tick that reaches it is delivered at once, not conflated. */
  const due = (atMs: number) => timed.some((b) => atMs >= b.stage.dueAt!());

  /** The earliest due time (NaN before the first tick): a tick before it skips runDue. */
  let nextDue = NaN;
  async function runDue(atMs: number): Promise<void> {
    for (const p of periodic) {
      if (Number.isNaN(p.due)) p.due = atMs + p.ms;
      else if (atMs >= p.due) {
        await p.b.stage.every!.run();
        // Once per crossing, however long the gap (a night between two sessions).
        p.due += p.ms * Math.max(1, Math.ceil((atMs - p.due + 1) / p.ms));
      }
    }
    nextDue = Math.min(...periodic.map((p) => p.due));
  }

  return {
    async run(ticks, obs, progress) {
      observer = obs;
      // The ticks of one instant carry the same time: parsed once.
      let lastTs = "";
      let at = Number.NaN;
      for (let i = 0; i < ticks.length; i++) {
        const t = ticks[i]!;
        const e = replayEnvelope(t.tick, t.id) as AnyEnvelope;
        if (e.ts !== lastTs) {
          at = Date.parse(e.ts);
          lastTs = e.ts;
        }
        if (periodic.length > 0 && !(at < nextDue)) await runDue(at);
        observer.tick(t, at);
        const d: Delivery = { e, m: message(TICKS, e, at), at };
        const out: Sent[] = [];
        if (first) {
          const p = firstBatch(d, out);
          if (p) await p;
        }
        waiting.push(d);
        if (out.length > 0 || waiting.length >= MAX_BATCH || urgent(e.key) || due(at)) await flush();
        if (out.length > 0) await deliverAll(out);
        if ((i + 1) % SEND_EVERY === 0) await afterSends();
        progress?.(i + 1);
      }
      await flush();
      await afterSends();
    },
  };
}

