/**
 * Bench section "reference": what the broker can take, measured in the same run, so our numbers
 * have something to be a ratio of.
 *
 * One workload, three clients, each on a topic of its own (`bench.ref.<run>.<client>`, 6
 * partitions like market.ticks, deleted afterwards):
 *
 * - Kafka's own producer benchmark, org.apache.kafka.tools.ProducerPerformance (the kafka-tools
 *   jar of scripts/kafka/pom.xml, on the classpath infra:up resolved into .infra/kafka/), records
 *   of the byte size of one of our tick envelopes, --throughput -1, acks=all (idempotent: the
 *   Java client's default). It sends without keys (sticky partitioner) and batches by bytes
 *   (batch.size 16 KiB, linger.ms 5): the JVM client at its defaults, as the broker's own yardstick.
 * - KafkaJS: the same records (one tick envelope, keyed by instrument token over 50 instruments),
 *   sent as our client path sends them: batches of 500 in one send, 8 sends in flight, acks=-1,
 *   idempotent; then drained by a consumer group from the beginning (offsets committed after each
 *   batch).
 * - Ours: KafkaLog (src/log/kafka.ts over @platformatic/kafka), the same: producer.send of 500, at
 *   most 8 in flight (the producer's default), and a consumer group draining it, committing after
 *   every handler call as the stages do.
 *
 * Produce runs for a fixed time (`seconds`, default 8; 60 with --long); consume reads what was
 * produced, from its first message to the last, for at most as long.
 *
 * And one hop's latency, the floor under each of the pipeline's hops on Kafka: Kafka's own
 * org.apache.kafka.tools.EndToEndLatency (one record of the tick envelope's size produced with
 * acks=all, and consumed, before the next; its quantiles are whole milliseconds, truncated), and
 * the same loop through our producer and consumer (a stage's settings). Each on a one-partition
 * topic of its own, `messages` records (20,000; 50,000 with --long; the first are the clients'
 * warm-up, in both).
 *
 * Keys: reference.kafka_producer_perf_records_per_s, reference.kafkajs_produce_per_s,
 * reference.kafkajs_consume_per_s, reference.ours_produce_per_s, reference.ours_consume_per_s,
 * reference.record_bytes, reference.ours_vs_producer_perf (ours ÷ ProducerPerformance, the
 * target ≥ 0.5), reference.ours_vs_kafkajs_produce, reference.ours_vs_kafkajs_consume,
 * reference.e2e_messages, reference.kafka_e2e_ms.{avg,p50,p99,p999} (EndToEndLatency),
 * reference.ours_e2e_ms.{avg,p50,p99,p999}.
 */
import { Admin } from "@platformatic/kafka";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createEvent, encodeEnvelope } from "../../src/events/envelope.ts";
import type { Tick } from "../../src/events/payloads.ts";
import { KafkaLog } from "../../src/log/kafka.ts";
import type { OutgoingMessage } from "../../src/log/port.ts";
import { track } from "./children.ts";
import { percentilesOfMs, type Percentiles } from "./loadgen.ts";
import type { BenchOptions, BenchSection } from "./types.ts";

const ROOT = resolve(import.meta.dir, "../..");
const PARTITIONS = 6;
const BATCH = 500;
const IN_FLIGHT = 8;
const KEYS = 50;

/** One of our tick envelopes, as the feed publishes it on market.ticks (JSON text). */
export function sampleTick(): string {
  const data: Tick = {
    instrument_token: 738561,
    last_price: 129045,
    last_quantity: 25,
    volume: 1_234_567,
    bid: 129040,
    ask: 129050,
    exchange_ts: new Date().toISOString(),
    feed: "simulated",
  };
  return encodeEnvelope(createEvent({ type: "market.tick", source: "feed.simulated", broker: "shared", key: "738561", data }));
}

const keys = Array.from({ length: KEYS }, (_, i) => String(100_000 + i * 7919));

/** Runs `loops` closed loops until `ms` have passed; each turn sends one batch. Returns the messages acknowledged. */
async function timedProduce(ms: number, send: (batch: number) => Promise<void>): Promise<{ count: number; seconds: number }> {
  const t0 = performance.now();
  const stopAt = t0 + ms;
  let count = 0;
  let batchNo = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < stopAt) {
        await send(batchNo++);
        count += BATCH;
      }
    }),
  );
  return { count, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Waits until `count()` reaches `total` or `capMs` have passed since the first message (the rate
 * is then over what was read by then), failing after `timeoutMs` without progress.
 */
async function drained(count: () => number, total: number, timeoutMs: number, capMs: number): Promise<void> {
  let last = -1;
  let since = Date.now();
  let firstAt = 0;
  while (count() < total) {
    if (count() > 0) firstAt ||= Date.now();
    if (firstAt && Date.now() - firstAt >= capMs) return;
    if (count() !== last) {
      last = count();
      since = Date.now();
    } else if (Date.now() - since > timeoutMs) {
      throw new Error(`consumer stalled at ${count()} of ${total} messages`);
    }
    await Bun.sleep(20);
  }
}

const rate = (count: number, seconds: number) => Math.round(count / Math.max(seconds, 0.001));

/** Runs one of Kafka's tools (`cls`) on the infra classpath; null when the classpath is not there. */
async function kafkaTool(opts: BenchOptions, cls: string, args: string[]): Promise<{ code: number; out: string; err: string } | null> {
  const cpFile = join(ROOT, ".infra/kafka/classpath.txt");
  if (!existsSync(cpFile)) {
    opts.log(`reference: no .infra/kafka/classpath.txt (run \`bun run infra:up\` once): ${cls.split(".").pop()} skipped`);
    return null;
  }
  const cp = readFileSync(cpFile, "utf8").trim();
  const proc = track(Bun.spawn(
    ["java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", `-Dlog4j2.configurationFile=${join(ROOT, "scripts/kafka/log4j2.properties")}`, "-cp", cp, cls, ...args],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  ));
  const killer = setTimeout(() => proc.kill("SIGKILL"), 300_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(killer);
  return { code, out, err };
}

const lastLines = (text: string) => text.trim().split("\n").slice(-5).join(" | ");

/** ProducerPerformance: records/sec of its final line. */
export async function producerPerformance(opts: BenchOptions, topic: string, recordSize: number, numRecords: number): Promise<number | null> {
  const r = await kafkaTool(opts, "org.apache.kafka.tools.ProducerPerformance", [
    "--topic", topic, "--num-records", String(numRecords), "--record-size", String(recordSize), "--throughput", "-1",
    "--producer-props", `bootstrap.servers=${opts.kafkaBrokers}`, "acks=all", "enable.idempotence=true",
  ]);
  if (!r) return null;
  const final = r.out.split("\n").find((l) => l.includes("50th"));
  const m = final && /^(\d+) records sent, ([\d.]+) records\/sec/.exec(final.trim());
  if (r.code !== 0 || !m) {
    opts.log(`reference: ProducerPerformance failed (exit ${r.code}): ${lastLines(r.err || r.out)}`);
    return null;
  }
  opts.log(`reference: ProducerPerformance: ${final.trim()}`);
  return Math.round(Number(m[2]));
}

/** One hop's latency, ms: produce (acked) → consumed, one record at a time. */
interface EndToEnd {
  avg: number;
  p50: number;
  p99: number;
  p999: number;
}

/** EndToEndLatency: "Avg latency: 0.9975 ms" and "Percentiles: 50th = 0, 99th = 6, 99.9th = 12". */
export function parseEndToEndLatency(out: string): EndToEnd | null {
  const avg = /Avg latency: ([\d.]+) ms/.exec(out);
  const q = /Percentiles: 50th = (\d+), 99th = (\d+), 99\.9th = (\d+)/.exec(out);
  if (!avg || !q) return null;
  return { avg: Math.round(Number(avg[1]) * 1000) / 1000, p50: Number(q[1]), p99: Number(q[2]), p999: Number(q[3]) };
}

async function jvmEndToEnd(opts: BenchOptions, topic: string, recordSize: number, messages: number): Promise<EndToEnd | null> {
  const r = await kafkaTool(opts, "org.apache.kafka.tools.EndToEndLatency", [opts.kafkaBrokers, topic, String(messages), "all", String(recordSize)]);
  if (!r) return null;
  const e = parseEndToEndLatency(r.out);
  if (r.code !== 0 || !e) {
    opts.log(`reference: EndToEndLatency failed (exit ${r.code}): ${lastLines(r.err || r.out)}`);
    return null;
  }
  opts.log(`reference: EndToEndLatency, ${messages} records one at a time: avg ${e.avg} ms, p50 ${e.p50}, p99 ${e.p99}, p99.9 ${e.p999} (whole ms, truncated)`);
  return e;
}

/**
 * The EndToEndLatency loop through our client: send one (acks=all), wait until our consumer hands
 * it over, repeat; `gapMs` apart (0: back to back), after `warmup` more back to back that are not
 * samples. Also the send alone, until acknowledged.
 */
export async function oursEndToEnd(opts: BenchOptions, log: KafkaLog, topic: string, value: string, messages: number, gapMs = 0, warmup = 0): Promise<EndToEnd & { produce: Percentiles }> {
  const producer = log.producer({ clientId: "bench-ours-e2e" });
  const consumer = log.consumer({ groupId: `${topic}.group`, topics: [topic], startFrom: "earliest", clientId: "bench-ours-e2e" });
  let want = "";
  let arrived: (() => void) | undefined;
  try {
    await consumer.run(async (batch) => {
      for (const m of batch) if (m.key === want) arrived?.();
    });
    const samples = new Float64Array(messages);
    const sends = new Float64Array(messages);
    for (let i = -warmup; i < messages; i++) {
      if (gapMs > 0 && i >= 0) await Bun.sleep(gapMs);
      want = String(i);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = new Promise<void>((resolve, reject) => {
        arrived = resolve;
        timer = setTimeout(() => reject(new Error(`record ${i} was not consumed within 30 s`)), 30_000);
      });
      const t = performance.now();
      await producer.send([{ topic, key: want, value }]);
      const sent = performance.now() - t;
      await got;
      clearTimeout(timer);
      if (i < 0) continue;
      sends[i] = sent;
      samples[i] = performance.now() - t;
    }
    const q = percentilesOfMs(samples);
    const e = { avg: q.mean, p50: q.p50, p99: q.p99, p999: q.p999, produce: percentilesOfMs(sends) };
    if (gapMs === 0) opts.log(`reference: ours, the same loop: avg ${e.avg} ms, p50 ${e.p50}, p99 ${e.p99}, p99.9 ${e.p999}`);
    return e;
  } finally {
    await consumer.close().catch(() => {});
    await producer.close().catch(() => {});
  }
}

/**
 * Runs `fn` with negative setTimeout delays clamped to 0: KafkaJS passes some (a sleep until a
 * moment already past), which Node and Bun treat as 1 ms anyway but Bun reports with a
 * TimeoutNegativeWarning on stderr each time.
 */
async function withClampedTimeouts<T>(fn: () => Promise<T>): Promise<T> {
  const original = globalThis.setTimeout;
  const clamped = ((handler: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    original(handler, typeof ms === "number" && ms < 0 ? 0 : ms, ...args)) as unknown as typeof setTimeout;
  globalThis.setTimeout = Object.assign(clamped, original);
  try {
    return await fn();
  } finally {
    globalThis.setTimeout = original;
  }
}

async function kafkajs(opts: BenchOptions, topic: string, value: string, seconds: number): Promise<{ produce: number; consume: number | null }> {
  const kafka = new Kafka({ clientId: "alpha-panda-bench", brokers: opts.kafkaBrokers.split(","), logLevel: logLevel.ERROR });
  // Idempotent: KafkaJS (as KIP-98 asks) wants one request in flight per connection.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const messages = (b: number) => Array.from({ length: BATCH }, (_, i) => ({ key: keys[(b * BATCH + i) % KEYS]!, value }));
  let produced: { count: number; seconds: number };
  try {
    await producer.send({ topic, acks: -1, messages: messages(0) }); // connect and learn the metadata outside the clock
    produced = await timedProduce(seconds * 1000, async (b) => {
      await producer.send({ topic, acks: -1, messages: messages(b) });
    });
  } finally {
    await producer.disconnect();
  }
  const total = produced.count + BATCH; // with the first, untimed batch
  const produce = rate(produced.count, produced.seconds);
  opts.log(`reference: KafkaJS produced ${produced.count} in ${produced.seconds.toFixed(1)} s: ${produce}/s`);

  const consumer = kafka.consumer({ groupId: `${topic}.group`, maxWaitTimeInMs: 100 });
  let count = 0;
  let first = 0;
  let lastAt = 0;
  let consume: number | null = null;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        if (count === 0) first = performance.now();
        count += batch.messages.length;
        lastAt = performance.now();
      },
    });
    await drained(() => count, total, 30_000, seconds * 1000);
    consume = rate(count, (lastAt - first) / 1000);
    opts.log(`reference: KafkaJS consumed ${count} in ${((lastAt - first) / 1000).toFixed(1)} s: ${consume}/s`);
  } catch (err) {
    opts.log(`reference: KafkaJS consume failed: ${(err as Error).message}`);
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return { produce, consume };
}

async function ours(opts: BenchOptions, log: KafkaLog, topic: string, value: string, seconds: number): Promise<{ produce: number; consume: number | null }> {
  const producer = log.producer({ clientId: "bench-ours" });
  const messages = (b: number): OutgoingMessage[] => Array.from({ length: BATCH }, (_, i) => ({ topic, key: keys[(b * BATCH + i) % KEYS]!, value }));
  let produced: { count: number; seconds: number };
  try {
    await producer.send(messages(0));
    produced = await timedProduce(seconds * 1000, (b) => producer.send(messages(b)));
  } finally {
    await producer.close();
  }
  const total = produced.count + BATCH; // with the first, untimed batch
  const produce = rate(produced.count, produced.seconds);
  opts.log(`reference: ours produced ${produced.count} in ${produced.seconds.toFixed(1)} s: ${produce}/s`);

  const consumer = log.consumer({ groupId: `${topic}.group`, topics: [topic], startFrom: "earliest", clientId: "bench-ours" });
  let count = 0;
  let first = 0;
  let lastAt = 0;
  let consume: number | null = null;
  try {
    await consumer.run(async (batch) => {
      if (count === 0) first = performance.now();
      count += batch.length;
      lastAt = performance.now();
    });
    await drained(() => count, total, 30_000, seconds * 1000);
    consume = rate(count, (lastAt - first) / 1000);
    opts.log(`reference: ours consumed ${count} in ${((lastAt - first) / 1000).toFixed(1)} s: ${consume}/s`);
  } catch (err) {
    opts.log(`reference: our consume failed: ${(err as Error).message}`);
  } finally {
    await consumer.close().catch(() => {});
  }
  return { produce, consume };
}

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? Math.round((a / b) * 1000) / 1000 : null);

/** How many records a ProducerPerformance run sends. */
export const producerPerformanceRecords = (opts: BenchOptions) => Number(process.env.BENCH_REF_PP_RECORDS ?? (opts.long ? 10_000_000 : 1_200_000));

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const seconds = Number(process.env.BENCH_REF_SECONDS ?? (opts.long ? 60 : 8));
  const ppRecords = producerPerformanceRecords(opts);
  const value = sampleTick();
  const recordBytes = Buffer.byteLength(value, "utf8");
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const topics = { jvm: `bench.ref.${run}.jvm`, kafkajs: `bench.ref.${run}.kafkajs`, ours: `bench.ref.${run}.ours` };
  const e2eTopics = { jvm: `bench.ref.${run}.e2e-jvm`, ours: `bench.ref.${run}.e2e-ours` };
  const e2eMessages = Number(process.env.BENCH_REF_E2E_MESSAGES ?? (opts.long ? 50_000 : 20_000));
  const log = new KafkaLog({ brokers: opts.kafkaBrokers.split(","), clientId: "alpha-panda-bench", retries: 2, connectTimeoutMs: 3_000 });
  const out: BenchSection = {
    "reference.record_bytes": recordBytes,
    "reference.kafka_producer_perf_records_per_s": null,
    "reference.kafkajs_produce_per_s": null,
    "reference.kafkajs_consume_per_s": null,
    "reference.ours_produce_per_s": null,
    "reference.ours_consume_per_s": null,
    "reference.e2e_messages": e2eMessages,
  };
  const e2eKeys = (who: "kafka" | "ours", e: EndToEnd | null) => {
    for (const q of ["avg", "p50", "p99", "p999"] as const) out[`reference.${who}_e2e_ms.${q}`] = e?.[q] ?? null;
  };
  e2eKeys("kafka", null);
  e2eKeys("ours", null);
  try {
    await log.createTopics([
      ...Object.values(topics).map((name) => ({ name, partitions: PARTITIONS, retentionMs: 3_600_000 })),
      ...Object.values(e2eTopics).map((name) => ({ name, partitions: 1, retentionMs: 3_600_000 })),
    ]);
  } catch (err) {
    opts.log(`reference: Kafka at ${opts.kafkaBrokers} is not usable (${(err as Error).message}): section skipped`);
    await log.close();
    return out;
  }
  try {
    opts.log(`reference: records of ${recordBytes} bytes (one tick envelope), ${PARTITIONS} partitions, acks=all`);
    out["reference.kafka_producer_perf_records_per_s"] = await producerPerformance(opts, topics.jvm, recordBytes, ppRecords);
    try {
      const k = await withClampedTimeouts(() => kafkajs(opts, topics.kafkajs, value, seconds));
      out["reference.kafkajs_produce_per_s"] = k.produce;
      out["reference.kafkajs_consume_per_s"] = k.consume;
    } catch (err) {
      opts.log(`reference: KafkaJS failed: ${(err as Error).message}`);
    }
    try {
      const o = await ours(opts, log, topics.ours, value, seconds);
      out["reference.ours_produce_per_s"] = o.produce;
      out["reference.ours_consume_per_s"] = o.consume;
    } catch (err) {
      opts.log(`reference: our client failed: ${(err as Error).message}`);
    }
    e2eKeys("kafka", await jvmEndToEnd(opts, e2eTopics.jvm, recordBytes, e2eMessages));
    try {
      e2eKeys("ours", await oursEndToEnd(opts, log, e2eTopics.ours, value, e2eMessages));
    } catch (err) {
      opts.log(`reference: our end-to-end loop failed: ${(err as Error).message}`);
    }
  } finally {
    const admin = new Admin({ clientId: "alpha-panda-bench-admin", bootstrapBrokers: opts.kafkaBrokers.split(","), retries: 1 });
    await admin.deleteTopics({ topics: [...Object.values(topics), ...Object.values(e2eTopics)] }).catch((err: unknown) => opts.log(`reference: could not delete the bench topics: ${(err as Error).message}`));
    await admin.close().catch(() => {});
    await log.close();
  }
  out["reference.ours_vs_producer_perf"] = ratio(out["reference.ours_produce_per_s"], out["reference.kafka_producer_perf_records_per_s"]);
  out["reference.ours_vs_kafkajs_produce"] = ratio(out["reference.ours_produce_per_s"], out["reference.kafkajs_produce_per_s"]);
  out["reference.ours_vs_kafkajs_consume"] = ratio(out["reference.ours_consume_per_s"], out["reference.kafkajs_consume_per_s"]);
  return out;
}
