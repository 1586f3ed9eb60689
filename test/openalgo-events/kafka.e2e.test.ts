/**
 * The OpenAlgo bridge on the real services: a distributed gateway (Kafka, Redis, a fresh
 * PostgreSQL schema) publishes to and follows topics of this run's own, read and written by the
 * test with a Kafka client of its own, as an OpenAlgo instance and its readers would.
 */
import { afterAll } from "bun:test";
import { KafkaLog } from "../../src/log/kafka.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { infra, needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";
import { openAlgoScenarios } from "./scenarios.ts";

slowTests();

const up = (await needs("kafka")) && (await needs("redis")) && (await needs("postgres"));

if (up) {
  const dbs: Array<{ drop: () => Promise<void> }> = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });
  openAlgoScenarios("Kafka + Redis + PostgreSQL", {
    env: async () => {
      const db = await freshDatabaseUrl();
      dbs.push(db);
      return { KAFKA_BROKERS: infra.kafkaBrokers, REDIS_URL: infra.redisUrl, DATABASE_URL: db.url, KAFKA_PRODUCER_COMPRESSION: "lz4" };
    },
    log: () => new KafkaLog({ brokers: infra.kafkaBrokers.split(",").map((b) => b.trim()), clientId: "openalgo-test" }),
  });
}
