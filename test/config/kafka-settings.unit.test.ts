import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
};

describe("KAFKA_PRODUCER_* settings", () => {
  test("unset: today's behaviour (no compression, 1 MiB requests written at once, acks=all, 5 retries, 30 s)", () => {
    const c = loadConfig({ KAFKA_BROKERS: "127.0.0.1:19092" });
    expect(c.kafka?.producer).toEqual({ compression: "none", batchBytes: 1_048_576, lingerMs: 0, retries: 5, requestTimeoutMs: 30_000 });
  });

  test("OpenAlgo's own values are taken", () => {
    const c = loadConfig({ KAFKA_BROKERS: "127.0.0.1:19092", KAFKA_PRODUCER_COMPRESSION: "snappy", KAFKA_PRODUCER_BATCH_SIZE: "16384", KAFKA_PRODUCER_LINGER_MS: "10", KAFKA_PRODUCER_ACKS: "all", KAFKA_PRODUCER_RETRIES: "3", KAFKA_PRODUCER_REQUEST_TIMEOUT_MS: "30000" });
    expect(c.kafka?.producer).toEqual({ compression: "snappy", batchBytes: 16_384, lingerMs: 10, retries: 3, requestTimeoutMs: 30_000 });
    for (const codec of ["none", "gzip", "lz4", "zstd", "ZSTD"]) expect(loadConfig({ KAFKA_PRODUCER_COMPRESSION: codec }).kafka).toBeUndefined();
    expect(loadConfig({ KAFKA_BROKERS: "k:9092", KAFKA_PRODUCER_ACKS: "-1" }).kafka?.producer.compression).toBe("none");
  });

  test("every bad value is named in one message; acks 0 and 1 are refused with the reason", () => {
    const err = problemsOf({
      KAFKA_PRODUCER_COMPRESSION: "brotli",
      KAFKA_PRODUCER_BATCH_SIZE: "0",
      KAFKA_PRODUCER_LINGER_MS: "-5",
      KAFKA_PRODUCER_ACKS: "1",
      KAFKA_PRODUCER_RETRIES: "1",
      KAFKA_PRODUCER_REQUEST_TIMEOUT_MS: "fast",
      PORT: "nope",
    });
    expect(err.problems.map((p) => p.path).sort()).toEqual(["KAFKA_PRODUCER_ACKS", "KAFKA_PRODUCER_BATCH_SIZE", "KAFKA_PRODUCER_COMPRESSION", "KAFKA_PRODUCER_LINGER_MS", "KAFKA_PRODUCER_REQUEST_TIMEOUT_MS", "KAFKA_PRODUCER_RETRIES", "PORT"]);
    expect(err.message).toContain("none, gzip, snappy, lz4, zstd");
    expect(err.message).toContain("acks=all");
    expect(problemsOf({ KAFKA_PRODUCER_ACKS: "0" }).message).toContain("must be all");
  });
});

describe("OPENALGO_* settings", () => {
  test("unset: nothing published, nothing read, user alpha-panda", () => {
    expect(loadConfig({}).openAlgo).toEqual({ userId: "alpha-panda" });
  });

  test("a source topic by name, or on for OpenAlgo's default name", () => {
    expect(loadConfig({ OPENALGO_SOURCE_TOPIC: "on" }).openAlgo.sourceTopic).toBe("from_openalgo_order_events");
    expect(loadConfig({ OPENALGO_SOURCE_TOPIC: "desk_a.events", OPENALGO_EVENTS_TOPIC: "from_alpha_panda_order_events", OPENALGO_USER_ID: "user123" }).openAlgo).toEqual({
      sourceTopic: "desk_a.events",
      eventsTopic: "from_alpha_panda_order_events",
      userId: "user123",
    });
  });

  test("the same topic both ways, a topic of the pipeline or a bad name is refused", () => {
    expect(problemsOf({ OPENALGO_SOURCE_TOPIC: "on", OPENALGO_EVENTS_TOPIC: "from_openalgo_order_events" }).problems.map((p) => p.path)).toEqual(["OPENALGO_SOURCE_TOPIC"]);
    expect(problemsOf({ OPENALGO_EVENTS_TOPIC: "paper.orders.filled" }).message).toContain("pipeline's topics");
    expect(problemsOf({ OPENALGO_SOURCE_TOPIC: "x.dlq" }).problems.map((p) => p.path)).toEqual(["OPENALGO_SOURCE_TOPIC"]);
    expect(problemsOf({ OPENALGO_EVENTS_TOPIC: "bad topic!", OPENALGO_USER_ID: "two words" }).problems.map((p) => p.path).sort()).toEqual(["OPENALGO_EVENTS_TOPIC", "OPENALGO_USER_ID"]);
  });
});
