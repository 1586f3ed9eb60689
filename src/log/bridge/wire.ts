/**
 * The messages of the log's bridge (src/log/bridge/): a worker's `RemoteLog` asks the main
 * thread's log by request and reply (src/request-reply.ts); a consumer's batches are delivered to
 * the worker and acknowledged back, so offsets are committed only after the worker's handler
 * succeeded.
 */
import type { WireError } from "../../request-reply.ts";
import type { ConsumerOptions, OutgoingMessage, TopicPartition, TopicSpec } from "../port.ts";
import type { PackedBatch } from "./batch-codec.ts";

/** What a worker may leave on the main thread: see `Thinning` in client.ts. */
export interface WireThinning {
  topics: readonly string[];
  /** Whether the worker names keys that keep every message (they come with each BatchAck). */
  keepsKeys: boolean;
}

/** Worker → main thread: a call on the log. The requester adds the id. */
export type LogRequest =
  | { t: "request"; op: "createTopics"; specs: TopicSpec[] }
  | { t: "request"; op: "listTopics" }
  | { t: "request"; op: "endOffsets"; topic: string }
  | { t: "request"; op: "send"; messages: OutgoingMessage[] }
  | { t: "request"; op: "run"; consumerId: number; options: ConsumerOptions; thinning?: WireThinning }
  | { t: "request"; op: "closeConsumer"; consumerId: number };

/** Main thread → worker, for one consumer. */
export type ConsumerEvent =
  /** `assignments`: only when they changed since the worker was last told. */
  | { t: "batch"; consumerId: number; batchId: number; batch: PackedBatch; leftOut?: Record<string, number>; assignments?: TopicPartition[] }
  | { t: "assign"; consumerId: number; assignments: TopicPartition[] }
  | { t: "done"; consumerId: number; error?: WireError };

/** Worker → main thread: a batch handled (or failed). `keptKeys`: the thinning's kept keys, when they changed. */
export type BatchAck = { t: "ack"; batchId: number; error?: WireError; keptKeys?: string[] };
