/**
 * The floors under a tick → fill on Kafka, measured in the pipeline section before its Kafka
 * gateway starts, with nothing else running (the Kafka analogue of `thread_wake_ms`):
 *
 * - `kafka.floor_ms.hop`: one hop through our client as the stages make it, one record every
 *   20 ms (the pipeline's signals and fills come ~20 a second, not back to back): produced
 *   (acks=all) and taken up by a consumer group, timed from before the send to the consumer's
 *   batch; 500 of them, after 50 back to back that are not samples, on a one-partition topic of
 *   its own (deleted after). The reference section's `ours_e2e_ms` is the same loop back to back.
 * - `kafka.floor_ms.produce`: the send alone in that loop, until acknowledged.
 * - `kafka.floor_ms.ledger`: the portfolio stage's ledger insert of one fill, from a worker into
 *   PostgreSQL, one every 20 ms, 300 of them, in a migrated schema of its own (dropped after).
 *
 * A fill's chain on Kafka is four hops (the sender's produce among them), the stages' work, two
 * dedup round trips to Redis and the ledger statement.
 */
import { Admin } from "@platformatic/kafka";
import { KafkaLog } from "../../src/log/kafka.ts";
import { openStore } from "../../src/store/index.ts";
import type { Percentiles } from "./loadgen.ts";
import { oursEndToEnd, sampleTick } from "./reference.ts";
import { freshSchema } from "./support.ts";
import type { BenchOptions, BenchSection } from "./types.ts";
import { measureLedgerPg } from "./wake.ts";

const GAP_MS = 20;

export async function kafkaFloors(opts: BenchOptions): Promise<BenchSection> {
  const out: BenchSection = {};
  const put = (name: string, q: Pick<Percentiles, "p50" | "p99" | "p999"> | undefined) => {
    for (const k of ["p50", "p99", "p999"] as const) out[`kafka.floor_ms.${name}.${k}`] = q?.[k] ?? null;
  };
  put("hop", undefined);
  put("produce", undefined);
  put("ledger", undefined);

  const topic = `bench.floor.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const log = new KafkaLog({ brokers: opts.kafkaBrokers.split(","), clientId: "alpha-panda-bench", retries: 2, connectTimeoutMs: 3_000 });
  try {
    await log.createTopics([{ name: topic, partitions: 1, retentionMs: 3_600_000 }]);
    const e = await oursEndToEnd(opts, log, topic, sampleTick(), 500, GAP_MS, 50);
    put("hop", e);
    put("produce", e.produce);
    opts.log(`  kafka floors, one every ${GAP_MS} ms, p50/p99/p99.9 ms: a hop through our client ${e.p50}/${e.p99}/${e.p999}, its send alone ${e.produce.p50}/${e.produce.p99}/${e.produce.p999}`);
  } catch (err) {
    opts.log(`  kafka: the hop floor not measured: ${(err as Error).message}`);
  } finally {
    const admin = new Admin({ clientId: "alpha-panda-bench-admin", bootstrapBrokers: opts.kafkaBrokers.split(","), retries: 1 });
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.close().catch(() => {});
    await log.close();
  }

  try {
    const db = await freshSchema(opts.databaseUrl);
    try {
      await (await openStore({ databaseUrl: db.url })).close(); // applies the migrations
      const q = await measureLedgerPg(db.url, 300, GAP_MS);
      put("ledger", q);
      opts.log(`  kafka floors: the ledger statement into PostgreSQL alone, p50/p99/p99.9 ms: ${q.p50}/${q.p99}/${q.p999}`);
    } finally {
      await db.drop();
    }
  } catch (err) {
    opts.log(`  kafka: the ledger floor not measured: ${(err as Error).message}`);
  }
  return out;
}
