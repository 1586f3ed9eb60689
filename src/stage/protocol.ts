/**
 * Messages between the gateway's supervisor and a stage worker, on the worker's own channel.
 * Resources the main thread holds in-process (the in-process log, the in-memory cache) travel as
 * MessagePorts in the init message; embedded PGlite's client options as data.
 */
import type { EmbeddedOptions } from "../store/pglite.ts";
import type { StagePorts } from "./context.ts";
import type { LatencyStats } from "./latency.ts";
import type { StageName } from "./stages.ts";
import type { ThreadMemory } from "../thread-memory.ts";

/** Supervisor → worker. */
export type ToWorker = { t: "init"; stage: StageName; env: Record<string, string | undefined>; ports: StagePorts; embeddedDb?: EmbeddedOptions } | { t: "stop" };

/** What a stage has done so far, for /ready and the logs. */
export interface StageStats {
  handled: number;
  duplicates: number;
  deadLettered: number;
  produced: number;
  /** Of those handled, superseded by a later message of the same key (see src/stage/conflation.ts). */
  conflated?: number;
  partitions: number;
  /** Handled, per input topic. */
  handledByTopic?: Record<string, number>;
  /** When these were taken (ms since the epoch), so rates can be computed from two of them. */
  at?: number;
  /** Tick → fill latency (the portfolio stage only; see src/stage/latency.ts). */
  tickToFill?: LatencyStats;
  /** Creation → arrival of the events of its non-conflated inputs: this hop (StreamProcessor.inbound). */
  inbound?: LatencyStats;
  /** The worker thread's heap (src/thread-memory.ts). */
  memory?: ThreadMemory;
  /** The stats of the stage's companions (src/stage/stages.ts), by name. */
  companions?: Record<string, StageStats>;
}

/** Worker → supervisor. */
export type FromWorker =
  | { t: "ready"; inputs: string[]; stats?: StageStats }
  | { t: "stats"; stats: StageStats }
  | { t: "stopped"; stats: StageStats }
  | { t: "failed"; error: string };
