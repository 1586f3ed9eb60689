/**
 * Messages between the gateway's supervisor and a stage worker, on the worker's own channel. The
 * log's traffic (embedded mode) goes over a separate MessagePort: see src/log/bridge.ts.
 */
import type { StageName } from "./stages.ts";

/** Supervisor → worker. */
export type ToWorker =
  | { t: "init"; stage: StageName; env: Record<string, string | undefined>; log?: MessagePort }
  | { t: "stop" };

/** What a stage has done so far, for /ready and the logs. */
export interface StageStats {
  consumed: number;
  invalid: number;
  partitions: number;
  byTopic: Record<string, number>;
}

/** Worker → supervisor. */
export type FromWorker =
  | { t: "ready"; inputs: string[] }
  | { t: "stats"; stats: StageStats }
  | { t: "stopped"; stats: StageStats }
  | { t: "failed"; error: string };
