/**
 * What runs inside every stage worker: the stage's context (log, database, cache), the stage
 * built from src/stage/stages, and the stream processor that feeds it. On "stop" it closes
 * gracefully: the batch in hand is finished and committed, the group left, producers flushed.
 */
import { loadConfig } from "../config.ts";
import { createLogger } from "../logger.ts";
import { instrumentMaster } from "../market/instruments.ts";
import { readInstruments } from "../market/master.ts";
import type { Logger } from "../logger.ts";
import { stageContext, type StageContext } from "./context.ts";
import { cacheDedup, DEDUP_TTL_MS, rememberingDedup, type Dedup } from "./dedup.ts";
import { cacheDeadLetters, type DeadLetterMarks } from "./replay.ts";
import { StreamProcessor } from "./processor.ts";
import type { FromWorker, StageStats, ToWorker } from "./protocol.ts";
import type { Stage } from "./stage.ts";
import { stageGroupId } from "./groups.ts";
import { threadMemory } from "../thread-memory.ts";
import { STAGES, type StageDef } from "./stages.ts";

declare const self: Worker;

const post = (m: FromWorker) => self.postMessage(m);

/**
 * How long an embedded stage remembers an envelope id (with Redis: cacheDedup's default, 3 days).
 * Embedded, the log lives and dies with the process, so a duplicate comes only from a redelivery
 * after a worker's restart (its backoff is capped at WORKER_RESTART_MAX_MS): minutes are plenty,
 * and the in-memory cache (100,000 keys) is not filled with ids kept for days.
 */
export const embeddedDedupTtlMs = (restartMaxMs: number): number => Math.max(2 * 60_000, 6 * restartMaxMs);

/**
 * The processor that feeds a built stage, as a worker runs it: its inputs, its handler and its
 * housekeeping, the types it handles (anything else on its inputs is dead-lettered) and the
 * handler timeout.
 */
export function stageProcessor(name: string, def: StageDef, stage: Stage, ctx: StageContext, worker: { dedup: Dedup; deadLetters?: DeadLetterMarks; logger: Logger }): StreamProcessor {
  return new StreamProcessor({
    stage: name,
    groupId: stageGroupId(def.groupId, ctx.config.activeBrokers, ctx.config.kafka !== undefined),
    topics: stage.topics,
    // Embedded, a batch is read when the stage asks for it: a bigger one is fewer round trips to
    // the main thread. Kafka's consumer prefetches up to a batch, so there it stays at 500: more
    // would queue more ticks in front of a signal.
    maxBatchSize: ctx.config.kafka ? 500 : 2_000,
    log: ctx.log,
    producer: ctx.producer,
    dedup: worker.dedup,
    deadLetters: worker.deadLetters,
    handle: stage.handle,
    handles: def.handles,
    handlerTimeoutMs: ctx.config.stageHandlerTimeoutMs,
    onBatch: stage.onBatch,
    afterBatch: stage.afterBatch,
    afterSend: stage.afterSend,
    idempotentTopics: stage.idempotentTopics,
    conflation: stage.conflation,
    logger: worker.logger,
  });
}

/** A stage and the processor that feeds it. */
interface FedStage {
  stage: Stage;
  processor: StreamProcessor;
}

/** What a started worker holds: its context, its stage and companions, its timers. */
interface StartedWorker {
  ctx: StageContext;
  main: FedStage;
  companions: Map<string, FedStage>;
  timers: Timer[];
}

function statsOf(fed?: FedStage): StageStats {
  const p = fed?.processor.stats;
  const stats: StageStats = {
    handled: p?.handled ?? 0,
    duplicates: p?.duplicates ?? 0,
    deadLettered: p?.deadLettered ?? 0,
    produced: p?.produced ?? 0,
    conflated: p?.conflated ?? 0,
    partitions: fed?.processor.assignments().length ?? 0,
    handledByTopic: { ...p?.handledByTopic },
    at: Date.now(),
  };
  // Quantiles are computed here, once a second, never in the hot path.
  const latency = fed?.stage.tickToFill?.rotate();
  if (latency) stats.tickToFill = latency;
  const inbound = fed?.processor.inbound.rotate();
  if (inbound) stats.inbound = inbound;
  return stats;
}

function workerStats(worker?: StartedWorker): StageStats {
  const stats = statsOf(worker?.main);
  stats.memory = threadMemory();
  if (worker && worker.companions.size > 0) stats.companions = Object.fromEntries([...worker.companions].map(([name, fed]) => [name, statsOf(fed)]));
  return stats;
}

/** Call from a worker entry file. */
export function runStageWorker(): void {
  let started: Promise<StartedWorker> | undefined;

  self.onmessage = async (event: MessageEvent<ToWorker>) => {
    const msg = event.data;
    if (msg.t === "init") {
      started = start(msg);
      started.catch((err: unknown) => post({ t: "failed", error: (err as Error).message }));
      return;
    }
    if (msg.t === "stop") {
      const worker = await started?.catch(() => undefined);
      if (worker) {
        for (const t of worker.timers) clearInterval(t);
        await Promise.all([worker.main, ...worker.companions.values()].map((fed) => fed.processor.close()));
        await worker.ctx.close();
      }
      post({ t: "stopped", stats: workerStats(worker) });
    }
  };
}

async function start(init: Extract<ToWorker, { t: "init" }>): Promise<StartedWorker> {
  const config = loadConfig(init.env);
  const def = STAGES[init.stage];
  const logger = createLogger({ level: config.logLevel, name: init.stage });
  const connections = stageContext(config, logger, init.stage, init.ports, init.embeddedDb);
  const ctx: StageContext = { ...connections, instruments: instrumentMaster(await readInstruments(connections.db)) };
  const timers: Timer[] = [];
  const startStage = async (name: string, def: StageDef): Promise<FedStage> => {
    const groupId = stageGroupId(def.groupId, config.activeBrokers, config.kafka !== undefined);
    const stage = await def.build(ctx);
    const processor = stageProcessor(name, def, stage, ctx, {
      // Without Redis the cache is the main thread's, and this worker the only one marking the
      // stage's ids: it keeps them itself (rememberingDedup).
      dedup: config.redisUrl === undefined ? await rememberingDedup(ctx.cache, name, embeddedDedupTtlMs(config.workerRestartMaxMs)) : cacheDedup(ctx.cache, name),
      // As long as the dedup keeps an id: past that a replayed copy is not a duplicate anyway.
      deadLetters: cacheDeadLetters(ctx.cache, name, config.redisUrl === undefined ? embeddedDedupTtlMs(config.workerRestartMaxMs) : DEDUP_TTL_MS),
      logger: name === init.stage ? logger : logger.child({ companion: name }),
    });
    await processor.start();
    logger.info({ stage: name, group: groupId, inputs: stage.topics, log: ctx.log.kind }, "stage consuming");
    if (stage.every) {
      const { ms, run } = stage.every;
      let busy = false;
      timers.push(
        setInterval(async () => {
          if (busy) return;
          busy = true;
          await run()
            .catch((err: unknown) => logger.warn({ stage: name, err: (err as Error).message }, "periodic work failed; will try again"))
            .finally(() => (busy = false));
        }, ms),
      );
    }
    processor.done.catch((err: unknown) => {
      logger.error({ stage: name, err: (err as Error).message }, "stage stopped on an error");
      post({ t: "failed", error: name === init.stage ? (err as Error).message : `${name}: ${(err as Error).message}` });
    });
    return { stage, processor };
  };
  const main = await startStage(init.stage, def);
  const companions = new Map<string, FedStage>();
  for (const [name, c] of Object.entries(def.companions ?? {})) if (c.enabled?.(config) ?? true) companions.set(name, await startStage(name, c));
  const running: StartedWorker = { ctx, main, companions, timers };
  // Stats with it, not a second later: a ready stage shows its heap and partitions from the start.
  post({ t: "ready", inputs: [...new Set([main, ...companions.values()].flatMap((fed) => fed.stage.topics))], stats: workerStats(running) });

  let reported = -1;
  let lastLog = 0;
  timers.push(
    setInterval(() => {
      const stats = workerStats(running);
      post({ t: "stats", stats });
      if (stats.handled !== reported && Date.now() - lastLog >= 5_000) {
        logger.info(stats, "stage progress");
        reported = stats.handled;
        lastLog = Date.now();
      }
    }, 1_000),
  );
  return running;
}
