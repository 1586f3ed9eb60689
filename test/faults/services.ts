/**
 * The fault harness's own Kafka, PostgreSQL and Redis: the private `faults` profile of
 * scripts/infra.ts (Kafka 29092, PostgreSQL 25432, Redis 26379, state in .infra/faults/), never
 * the shared services. Started if not running and stopped afterwards if we started them; each
 * scenario gets fresh topics, consumer groups, schema and cache, so runs never see each other.
 */
import { Admin } from "@platformatic/kafka";
import Redis from "ioredis";
import { KafkaLog } from "../../src/log/kafka.ts";
import { topicSpecs } from "../../src/topics.ts";
import { infraFor, type Infra } from "../../scripts/infra.ts";
import { until } from "../../scripts/lib/proc.ts";

export interface PrivateServices {
  infra: Infra;
  /** Stops the services if this run started them. */
  release(): Promise<void>;
}

let shared: Promise<PrivateServices> | undefined;

/** The private set, up and answering; one per process however many callers ask. */
export function privateServices(): Promise<PrivateServices> {
  return (shared ??= (async () => {
    const infra = infraFor("faults");
    const wasRunning = await infra.running();
    if (!wasRunning && !(await infra.up({ quiet: true }))) {
      throw new Error("the fault harness could not start its private services (INFRA_PROFILE=faults bun scripts/infra.ts up says why)");
    }
    return {
      infra,
      release: async () => {
        shared = undefined;
        if (!wasRunning) await infra.down({ quiet: true });
      },
    };
  })());
}

const admin = (brokers: string) =>
  new Admin({ clientId: "alpha-panda-faults", bootstrapBrokers: [brokers], retries: 3, connectTimeout: 2000, requestTimeout: 10_000 });

/** Stops the private services if this process started them (and nothing if it never asked). */
export async function releasePrivateServices(): Promise<void> {
  if (shared) await (await shared).release();
}

/** Deletes every topic and consumer group, then creates the topic table's topics afresh. */
export async function freshKafka(brokers: string): Promise<void> {
  const a = admin(brokers);
  try {
    // A group keeps a member that died without leaving until its session times out (30 s by
    // default) and cannot be deleted before: wait for that, so the next scenario starts clean.
    let left: string[] = [];
    const deadline = Date.now() + 60_000;
    do {
      left = [];
      for (const group of (await a.listGroups()).keys()) {
        try {
          await a.deleteGroups({ groups: [group] });
        } catch (err) {
          const why = (err as AggregateError).errors?.map((e: Error) => e.message).join("; ") || (err as Error).message;
          left.push(`${group} (${why})`);
        }
      }
      if (left.length > 0) await Bun.sleep(1_000);
    } while (left.length > 0 && Date.now() < deadline);
    if (left.length > 0) throw new Error(`consumer groups of an earlier scenario could not be deleted: ${left.join(", ")}`);
    const ours = (await a.listTopics()).filter((t) => !t.startsWith("__"));
    if (ours.length > 0) {
      await a.deleteTopics({ topics: ours });
      await until("the old topics to be deleted", async () => (await a.listTopics()).every((t) => t.startsWith("__")), 30_000, 200);
    }
  } finally {
    await a.close().catch(() => {});
  }
  const log = new KafkaLog({ brokers: [brokers], clientId: "alpha-panda-faults" });
  try {
    // A name just deleted can be refused for a moment while the controller finishes.
    await until("the topics to be created", async () => {
      await log.createTopics(topicSpecs(["paper"]));
      return (await log.listTopics()).length >= topicSpecs(["paper"]).length;
    }, 30_000, 500);
  } finally {
    await log.close();
  }
}

export async function flushRedis(url: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await r.connect();
    await r.flushall();
  } finally {
    r.disconnect();
  }
}

/** End offsets of the topics (one number per partition). */
export async function endOffsets(brokers: string, topics: string[]): Promise<Map<string, number[]>> {
  const a = admin(brokers);
  try {
    const meta = await a.metadata({ topics });
    const request = topics.map((name) => ({
      name,
      partitions: [...Array(meta.topics.get(name)?.partitionsCount ?? 0).keys()].map((partitionIndex) => ({ partitionIndex, timestamp: -1n })),
    }));
    const listed = await a.listOffsets({ topics: request });
    return new Map(listed.map((t) => [t.name, [...t.partitions].sort((x, y) => x.partitionIndex - y.partitionIndex).map((p) => Number(p.offset))]));
  } finally {
    await a.close().catch(() => {});
  }
}

/** Every message of the topics, read straight from Kafka (a fresh group, from the start). */
export async function readTopics(brokers: string, topics: string[]): Promise<Array<{ topic: string; value: Uint8Array; headers: Record<string, string> }>> {
  const ends = await endOffsets(brokers, topics);
  const total = [...ends.values()].flat().reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  const log = new KafkaLog({ brokers: [brokers], clientId: "alpha-panda-faults-reader" });
  const out: Array<{ topic: string; value: Uint8Array; headers: Record<string, string> }> = [];
  const seen = new Set<string>();
  try {
    const consumer = log.consumer({ groupId: `alpha-panda.faults.reader.${crypto.randomUUID()}`, topics, startFrom: "earliest", clientId: "faults-reader" });
    await consumer.run(async (batch) => {
      for (const m of batch) {
        const id = `${m.topic}/${m.partition}/${m.offset}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({ topic: m.topic, value: m.value, headers: m.headers });
      }
    });
    // Offsets can run ahead of records (a producer's retried batch, transaction markers): what
    // arrived by then is what there is.
    await until(`all ${total} messages of ${topics.length} topics`, async () => seen.size >= total, 15_000, 100).catch(() => {});
    await Promise.race([consumer.close(), Bun.sleep(10_000)]);
  } finally {
    await Promise.race([log.close(), Bun.sleep(10_000)]);
  }
  return out;
}
