/**
 * 1. Ingest: ticks/s from the feed path (`publishTicks`, src/market/feed.ts: one envelope per tick,
 * keyed by instrument token) into market.ticks, 1,000 synthetic instruments, batches of 1,000
 * (one tick per instrument, as the simulated feed sends a step).
 *
 * - embedded: a MemoryLog with the topic table, and one consumer group draining market.ticks in
 *   the same thread (as the gateway's workers would), so the log's bound never stalls it;
 * - Kafka: KafkaLog on the infra's broker, acks=all, idempotent: the gateway's own producer. The
 *   topic is `bench.market.ticks` (market.ticks's partitions and retention), created empty for
 *   the run and deleted after it, so the shared market.ticks is not filled with bench ticks.
 *
 * Two rates per log: `ingest_ticks_per_s` with up to 8 batches in flight (the producer's
 * maxInFlight; what ProducerPerformance's pipelining compares with), and
 * `ingest_sequential_ticks_per_s` with one batch at a time, as one Feed loop publishes.
 *
 * On Kafka, right after ours, Kafka's ProducerPerformance into the same topic with records of the
 * tick envelope's size (`kafka.ingest_producer_perf_records_per_s`): the target's ratio
 * (`kafka.ingest_vs_producer_perf`) is taken between these two, measured a minute apart on the
 * same warm broker, not against the reference section's, which runs at the end of the bench,
 * 20 minutes later with --long, when the machine's load from elsewhere may have changed (one
 * `--long` run: 126k ticks/s here at 8% steal against 407k records/s there at 0%).
 */
import { Admin } from "@platformatic/kafka";
import { publishTicks } from "../../src/market/feed.ts";
import { KafkaLog } from "../../src/log/kafka.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import type { Log, Producer } from "../../src/log/port.ts";
import { TOPIC_TABLE, topicName, topicSpecs } from "../../src/topics.ts";
import { createEvent, encodeEnvelope } from "../../src/events/envelope.ts";
import type { BenchOptions, BenchSection } from "./types.ts";
import { producerPerformance, producerPerformanceRecords } from "./reference.ts";
import { eachMode, round, syntheticInstruments, TickSource } from "./support.ts";

const INSTRUMENTS = 1_000;
const BATCH = 1_000;
export const BENCH_TICKS_TOPIC = "bench.market.ticks";

/** Publishes through `producer` with the topic renamed: publishTicks always names market.ticks. */
const renamed = (producer: Producer, topic: string): Producer => ({
  send: (messages) => producer.send(messages.map((m) => ({ ...m, topic }))),
  close: () => producer.close(),
});

/** Publishes batches for `ms` with `inFlight` at once; ticks/s. */
async function measure(producer: Producer, ms: number, inFlight: number): Promise<number> {
  const source = new TickSource(syntheticInstruments(INSTRUMENTS), 50);
  let published = 0;
  const t0 = performance.now();
  const deadline = t0 + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await publishTicks(producer, source.next(BATCH), "feed.bench");
        published += BATCH;
      }
    }),
  );
  return published / ((performance.now() - t0) / 1000);
}

/** Average size of a tick envelope on the wire (bytes), for the reference producer's record size. */
export function tickRecordBytes(): number {
  const ticks = new TickSource(syntheticInstruments(INSTRUMENTS), 50).next(BATCH);
  let total = 0;
  for (const data of ticks) total += Buffer.byteLength(encodeEnvelope(createEvent({ type: "market.tick", source: "feed.bench", broker: "shared", key: String(data.instrument_token), data })));
  return Math.round(total / ticks.length);
}

async function embedded(opts: BenchOptions, ms: number): Promise<BenchSection> {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics(topicSpecs(["paper"]));
  let drained = 0;
  const consumer = log.consumer({ groupId: "bench.drain", topics: [topicName("marketTicks")], maxBatchSize: 1_000 });
  await consumer.run(async (batch) => {
    drained += batch.length;
  });
  const producer = log.producer({ clientId: "bench-feed" });
  try {
    const pipelined = await measure(producer, ms, 8);
    opts.log(`  embedded: ${Math.round(pipelined)} ticks/s (8 batches in flight)`);
    const sequential = await measure(producer, ms / 2, 1);
    opts.log(`  embedded: ${Math.round(sequential)} ticks/s (one batch at a time); drained ${drained}`);
    return { "embedded.ingest_ticks_per_s": round(pipelined), "embedded.ingest_sequential_ticks_per_s": round(sequential) };
  } finally {
    await producer.close();
    await consumer.close();
    await log.close();
  }
}

async function kafka(opts: BenchOptions, ms: number, warmupMs: number, recordBytes: number): Promise<BenchSection> {
  const brokers = opts.kafkaBrokers.split(",");
  const admin = new Admin({ clientId: "alpha-panda-bench-admin", bootstrapBrokers: brokers });
  admin.on("error", () => {});
  const drop = async () => {
    if ((await admin.listTopics()).includes(BENCH_TICKS_TOPIC)) await admin.deleteTopics({ topics: [BENCH_TICKS_TOPIC] });
  };
  const log: Log = new KafkaLog({ brokers, clientId: "alpha-panda-bench" });
  try {
    await drop();
    // Deletion is asynchronous in Kafka: retry the create until the old one is gone.
    const spec = { name: BENCH_TICKS_TOPIC, partitions: TOPIC_TABLE.marketTicks.partitions, retentionMs: TOPIC_TABLE.marketTicks.retentionMs };
    for (let i = 0; ; i++) {
      const r = await log.createTopics([spec]);
      if (r.created.length > 0) break;
      if (i > 50) throw new Error(`${BENCH_TICKS_TOPIC} still exists after deleting it`);
      await Bun.sleep(200);
    }
    opts.log(`  kafka: topic ${BENCH_TICKS_TOPIC} (${spec.partitions} partitions, like market.ticks), acks=all, idempotent`);
    const producer = renamed(log.producer({ clientId: "bench-feed" }), BENCH_TICKS_TOPIC);
    // A warm-up, not measured: connections, metadata, the producer id, and the JIT of the broker's
    // JVM and of our client. This section runs first, on a broker started seconds before; with a
    // 1 s warm-up, one batch at a time measured faster than 8 in flight right after it (113k
    // against 101k ticks/s), while ProducerPerformance, later in the run, met a warm broker.
    await measure(producer, warmupMs, 8);
    const pipelined = await measure(producer, ms, 8);
    opts.log(`  kafka: ${Math.round(pipelined)} ticks/s (8 batches in flight)`);
    const sequential = await measure(producer, ms / 2, 1);
    opts.log(`  kafka: ${Math.round(sequential)} ticks/s (one batch at a time)`);
    await producer.close();
    const jvm = await producerPerformance(opts, BENCH_TICKS_TOPIC, recordBytes, producerPerformanceRecords(opts));
    return {
      "kafka.ingest_ticks_per_s": round(pipelined),
      "kafka.ingest_sequential_ticks_per_s": round(sequential),
      "kafka.ingest_producer_perf_records_per_s": jvm,
    };
  } finally {
    await log.close();
    await drop().catch(() => {});
    await admin.close().catch(() => {});
  }
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const ms = opts.long ? 20_000 : 6_000;
  const warmupMs = opts.long ? 15_000 : 3_000;
  const bytes = tickRecordBytes();
  opts.log(`  ${INSTRUMENTS} instruments, batches of ${BATCH}, ${bytes} bytes a tick envelope`);
  const modes = { embedded: () => embedded(opts, ms), kafka: () => kafka(opts, ms, warmupMs, bytes) };
  return eachMode(opts, ["embedded", "kafka"] as const, (mode) => modes[mode](), { "ingest.record_bytes": bytes, "ingest.instruments": INSTRUMENTS });
}
