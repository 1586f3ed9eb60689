/**
 * What runs inside every stage worker: it builds the stage's log client (the main thread's
 * in-process log over a port, or Kafka), joins the stage's consumer group, hands each batch to
 * the stage, and on "stop" closes gracefully (batch in hand finished and committed, group left).
 *
 * The stages' trading logic lands with the pipeline issue; until then a stage validates every
 * envelope it consumes and counts it, which exercises the whole transport: consume, decode,
 * commit after success, rebalance, graceful close.
 */
import { loadConfig } from "../config.ts";
import { decodeEnvelope } from "../events/envelope.ts";
import { RemoteLog } from "../log/bridge.ts";
import { openLog } from "../log/index.ts";
import type { Consumer, Log, LogMessage } from "../log/port.ts";
import { createLogger } from "../logger.ts";
import type { FromWorker, StageStats, ToWorker } from "./protocol.ts";
import { STAGES } from "./stages.ts";

declare const self: Worker;

const post = (m: FromWorker) => self.postMessage(m);

/** Call from a worker entry file. */
export function runStageWorker(): void {
  let started: Promise<{ log: Log; consumer: Consumer; stats: StageStats; timer: Timer }> | undefined;

  self.onmessage = async (event: MessageEvent<ToWorker>) => {
    const msg = event.data;
    if (msg.t === "init") {
      started = start(msg).catch((err: unknown) => {
        post({ t: "failed", error: (err as Error).message });
        throw err;
      });
      return;
    }
    if (msg.t === "stop") {
      const s = await started?.catch(() => undefined);
      if (s) {
        clearInterval(s.timer);
        await s.consumer.close();
        await s.log.close();
        post({ t: "stopped", stats: s.stats });
      } else {
        post({ t: "stopped", stats: { consumed: 0, invalid: 0, partitions: 0, byTopic: {} } });
      }
    }
  };
}

async function start(init: Extract<ToWorker, { t: "init" }>) {
  const config = loadConfig(init.env);
  const stage = STAGES[init.stage];
  const logger = createLogger({ level: config.logLevel, name: stage.name });
  const log: Log = init.log ? new RemoteLog(init.log) : openLog(config, stage.name);
  const inputs = stage.inputs(config.activeBrokers);
  const stats: StageStats = { consumed: 0, invalid: 0, partitions: 0, byTopic: {} };
  const consumer = log.consumer({ groupId: stage.groupId, topics: inputs, clientId: stage.name });

  await consumer.run(async (batch: readonly LogMessage[]) => {
    for (const m of batch) {
      try {
        decodeEnvelope(m.value);
        stats.byTopic[m.topic] = (stats.byTopic[m.topic] ?? 0) + 1;
        stats.consumed++;
      } catch (err) {
        stats.invalid++;
        logger.warn({ topic: m.topic, partition: m.partition, offset: m.offset, reason: (err as Error).message }, "invalid envelope");
      }
    }
  });
  logger.info({ group: stage.groupId, inputs, log: log.kind }, "stage consuming");
  post({ t: "ready", inputs });

  let reported = 0;
  let lastLog = Date.now();
  const timer = setInterval(() => {
    stats.partitions = consumer.assignments().length;
    post({ t: "stats", stats });
    if (stats.consumed !== reported && Date.now() - lastLog >= 5_000) {
      logger.info({ consumed: stats.consumed, by_topic: stats.byTopic, partitions: stats.partitions }, "stage progress");
      reported = stats.consumed;
      lastLog = Date.now();
    }
  }, 1_000);
  consumer.done.catch((err: unknown) => {
    logger.error({ err }, "consumer stopped");
    post({ t: "failed", error: (err as Error).message });
  });
  return { log, consumer, stats, timer };
}
