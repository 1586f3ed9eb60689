/** What a stage module gives the runtime: its inputs, its handler, and its housekeeping. */
import type { Consumer } from "../log/port.ts";
import type { Handle } from "./processor.ts";

export interface Stage {
  topics: string[];
  handle: Handle;
  /** Before each batch, with the partitions owned now. */
  onBatch?: (consumer: Consumer) => Promise<void> | void;
  /** After each batch, before its outputs are sent: flush state. */
  afterBatch?: () => Promise<void> | void;
  /** Periodic work: reload configuration, publish snapshots. */
  every?: { ms: number; run: () => Promise<void> };
}
