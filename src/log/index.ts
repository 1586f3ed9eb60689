/**
 * The log port and its adapters. `openLog` picks Kafka when brokers are configured, else the
 * in-process log.
 */
import type { Config } from "../config.ts";
import { KafkaLog } from "./kafka.ts";
import { MemoryBroker, MemoryLog } from "./memory.ts";
import type { Log } from "./port.ts";

export type * from "./port.ts";
export { KafkaLog } from "./kafka.ts";
export { MemoryBroker, MemoryLog } from "./memory.ts";
export { Journal, journalDir } from "./journal.ts";
export { RemoteLog, serveLog } from "./bridge/index.ts";

/**
 * @example
 * const log = openLog(config); // KafkaLog with KAFKA_BROKERS, else a fresh in-process log
 */
export function openLog(config: Pick<Config, "kafka">, clientSuffix = "gateway"): Log {
  if (!config.kafka) return new MemoryLog(new MemoryBroker());
  return new KafkaLog({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-${clientSuffix}`,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
    fetchMaxWaitMs: config.kafka.fetchMaxWaitMs,
    producer: config.kafka.producer,
  });
}
