/**
 * Every consumer the gateway makes joins its group with the configured session and heartbeat: the
 * stages' and companions' (each worker's `openLog(config, stage)`, src/stage/context.ts) and the
 * gateway's own (`openLog(config)`, gateway/runtime.ts). No broker is contacted: a consumer
 * connects only when it runs.
 */
import { expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { openLog } from "../../src/log/index.ts";
import type { KafkaConsumer } from "../../src/log/kafka-consumer.ts";
import { KafkaLog } from "../../src/log/kafka.ts";

const group = (log: ReturnType<typeof openLog>, groupId = "g") => (log.consumer({ groupId, topics: ["market.ticks"] }) as KafkaConsumer).group;

test("the configuration's defaults reach every consumer: a 6 s session, 1 s heartbeats", async () => {
  for (const suffix of ["gateway", "strategy", "portfolio"]) {
    const log = openLog(loadConfig({ KAFKA_BROKERS: "127.0.0.1:1" }), suffix);
    expect(log).toBeInstanceOf(KafkaLog);
    expect(group(log)).toEqual({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, rebalanceTimeoutMs: 60_000 });
    await log.close();
  }
});

test("set values reach them too, and a KafkaLog made without options has the same defaults", async () => {
  const log = openLog(loadConfig({ KAFKA_BROKERS: "127.0.0.1:1", KAFKA_SESSION_TIMEOUT_MS: "9000", KAFKA_HEARTBEAT_INTERVAL_MS: "2000" }));
  expect(group(log)).toMatchObject({ sessionTimeoutMs: 9_000, heartbeatIntervalMs: 2_000 });
  await log.close();
  const bare = new KafkaLog({ brokers: ["127.0.0.1:1"] });
  expect(group(bare)).toMatchObject({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 });
  await bare.close();
});
