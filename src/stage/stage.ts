/** What a stage module gives the runtime: its inputs, its handler, and its housekeeping. */
import type { Consumer, LogMessage } from "../log/port.ts";
import type { LatencyWindow } from "./latency.ts";
import type { Conflation } from "./conflation.ts";
import type { Handle } from "./processor.ts";

export interface Stage {
  topics: string[];
  handle: Handle;
  /** Before each batch, with the partitions owned now and the batch (a backtest gives none). */
  onBatch?: (consumer: Consumer, batch?: readonly LogMessage[]) => Promise<void> | void;
  /** After each batch, before its outputs are sent: flush state. */
  afterBatch?: () => Promise<void> | void;
  /** After each batch's outputs were acknowledged, before it is committed: save state. */
  afterSend?: () => Promise<void> | void;
  /**
   * The next event time (ms) at which the stage has work of its own (the risk stage's day's end).
   * A backtest, which holds ticks back in long batches, delivers those waiting at the first tick at
   * or after it, so that tick is handled rather than conflated into a later one.
   */
  dueAt?: () => number;
  /** Periodic work: reload configuration, publish snapshots. */
  every?: { ms: number; run: () => Promise<void> };
  /**
   * Inputs whose messages may be handled twice with no effect, so they are not deduplicated by
   * id (market ticks: a tick sets a last price, and what it causes carries ids derived from it).
   */
  idempotentTopics?: string[];
  /**
   * Idempotent inputs where a key's latest message supersedes the earlier ones (market ticks for a
   * stage that only needs the latest price): see src/stage/conflation.ts.
   */
  conflation?: Conflation;
  /** Tick → fill latency this stage records; its quantiles go out with the stats each second. */
  tickToFill?: LatencyWindow;
}
