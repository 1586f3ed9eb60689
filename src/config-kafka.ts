/**
 * The settings of our Kafka producers (KAFKA_PRODUCER_*, the names OpenAlgo's publisher uses) and
 * of the OpenAlgo order-event bridge (OPENALGO_*): part of src/config.ts's schema, kept apart so
 * each file stays about one thing. Defaults are today's behaviour: no compression, sends of up to
 * 1 MiB coalesced and written at once, acks=all, 5 retries, 30 s per request.
 */
import { z } from "zod";
import { int, oneOf } from "./config-fields.ts";
import type { Problem } from "./errors.ts";

/** The codecs @platformatic/kafka writes (snappy and lz4 through WebAssembly, zstd through node:zlib). */
export const COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** The topic an OpenAlgo instance publishes its order events to (OpenAlgo's KAFKA_ORDER_EVENTS_TOPIC default). */
export const OPENALGO_DEFAULT_SOURCE_TOPIC = "from_openalgo_order_events";
/** OPENALGO_SOURCE_TOPIC's values that mean "on, with OpenAlgo's default topic name". */
const SOURCE_ON = ["on", "true", "1", "yes"];

/** How every producer of ours sends (src/log/kafka-producer.ts). */
export interface ProducerTuning {
  compression: Compression;
  /** The most bytes (keys and values) one produce request carries; a larger send goes alone. */
  batchBytes: number;
  /** How long a send waits for others to join its request; 0 writes at once. */
  lingerMs: number;
  retries: number;
  requestTimeoutMs: number;
}

export const DEFAULT_PRODUCER_TUNING: ProducerTuning = { compression: "none", batchBytes: 1024 * 1024, lingerMs: 0, retries: 5, requestTimeoutMs: 30_000 };

/** The OpenAlgo bridge: what we publish in its shape, and which OpenAlgo instance we follow. */
export interface OpenAlgoEventsConfig {
  /** Our order events, in OpenAlgo's order-event shape, go here (unset: not published). */
  eventsTopic?: string;
  /** An OpenAlgo instance's order events are read from here into the orders view (unset: not read). */
  sourceTopic?: string;
  /** The `user_id` our messages carry and are keyed by. */
  userId: string;
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** A Kafka topic name, undefined when empty. */
const topic = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const name = v?.trim();
      if (!name) return undefined;
      if (!TOPIC.test(name)) {
        ctx.addIssue({ code: "custom", message: `must be a topic name (1-249 of A-Z a-z 0-9 . _ -), got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return name;
    });

/** acks: only "all" (or -1). Our topics hold orders acknowledged to a trader, and the producers are idempotent, which Kafka allows only with acks=all. */
const acks = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const text = v?.trim().toLowerCase();
      if (!text || text === "all" || text === "-1") return "all" as const;
      const why = text === "0" || text === "1" ? "an acknowledged order must be on every in-sync replica, and our producers are idempotent, which needs acks=all" : "expected all";
      ctx.addIssue({ code: "custom", message: `must be all, got ${JSON.stringify(v)} (${why})` });
      return z.NEVER;
    });

export const kafkaProducerFields = {
  KAFKA_PRODUCER_COMPRESSION: oneOf(COMPRESSIONS, DEFAULT_PRODUCER_TUNING.compression),
  KAFKA_PRODUCER_BATCH_SIZE: int("a size in bytes", DEFAULT_PRODUCER_TUNING.batchBytes, 1, 64 * 1024 * 1024),
  KAFKA_PRODUCER_LINGER_MS: int("a wait in ms", DEFAULT_PRODUCER_TUNING.lingerMs, 0, 10_000),
  KAFKA_PRODUCER_ACKS: acks(),
  // At least 2: an idempotent producer given fewer retries forever (src/log/kafka-producer.ts).
  KAFKA_PRODUCER_RETRIES: int("a number of retries", DEFAULT_PRODUCER_TUNING.retries, 2, 1_000),
  KAFKA_PRODUCER_REQUEST_TIMEOUT_MS: int("a timeout in ms", DEFAULT_PRODUCER_TUNING.requestTimeoutMs, 1_000, 600_000),
};

export const openAlgoFields = {
  OPENALGO_EVENTS_TOPIC: topic(),
  // A topic name, or on/true/1/yes for OpenAlgo's default name; empty: not read.
  OPENALGO_SOURCE_TOPIC: z
    .string()
    .optional()
    .transform((v) => (v && SOURCE_ON.includes(v.trim().toLowerCase()) ? OPENALGO_DEFAULT_SOURCE_TOPIC : v))
    .pipe(topic()),
  OPENALGO_USER_ID: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const id = v?.trim() || "alpha-panda";
      if (id.length > 128 || /\s/.test(id)) {
        ctx.addIssue({ code: "custom", message: `must be a user id of at most 128 characters with no spaces, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return id;
    }),
};

type Parsed = { [K in keyof typeof kafkaProducerFields]: z.output<(typeof kafkaProducerFields)[K]> } & { [K in keyof typeof openAlgoFields]: z.output<(typeof openAlgoFields)[K]> };

/** The producer tuning from parsed settings. */
export const producerTuningOf = (p: Parsed): ProducerTuning => ({
  compression: p.KAFKA_PRODUCER_COMPRESSION,
  batchBytes: p.KAFKA_PRODUCER_BATCH_SIZE,
  lingerMs: p.KAFKA_PRODUCER_LINGER_MS,
  retries: p.KAFKA_PRODUCER_RETRIES,
  requestTimeoutMs: p.KAFKA_PRODUCER_REQUEST_TIMEOUT_MS,
});

/** The bridge's settings from parsed settings. */
export const openAlgoOf = (p: Parsed): OpenAlgoEventsConfig => ({
  ...(p.OPENALGO_EVENTS_TOPIC ? { eventsTopic: p.OPENALGO_EVENTS_TOPIC } : {}),
  ...(p.OPENALGO_SOURCE_TOPIC ? { sourceTopic: p.OPENALGO_SOURCE_TOPIC } : {}),
  userId: p.OPENALGO_USER_ID,
});

/**
 * Problems across the bridge's settings: reading back what we publish would show our own orders
 * twice, and a topic of our table (or a DLQ) is not the bridge's to write or read.
 */
export function openAlgoProblems(events: string | undefined, source: string | undefined, ownTopic: (name: string) => boolean): Problem[] {
  const problems: Problem[] = [];
  if (events && source && events === source) problems.push({ path: "OPENALGO_SOURCE_TOPIC", message: `must differ from OPENALGO_EVENTS_TOPIC (${JSON.stringify(events)}): reading back what we publish would show our own orders twice` });
  for (const [path, name] of [["OPENALGO_EVENTS_TOPIC", events], ["OPENALGO_SOURCE_TOPIC", source]] as const) {
    if (name && (ownTopic(name) || name.endsWith(".dlq"))) problems.push({ path, message: `must not be one of the pipeline's topics or a DLQ, got ${JSON.stringify(name)}` });
  }
  return problems;
}
