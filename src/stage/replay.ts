/**
 * Replaying dead letters (`bun run dlq replay`, scripts/dlq.ts) writes each back to its topic with
 * its envelope id unchanged and the {@link REPLAY_HEADER}. Every group reading the topic sees it
 * again: a stage that handled the event skips it by its dedup, as any redelivery. The stage that
 * dead-lettered it marked the id seen too (so a redelivery is not dead-lettered twice); it also
 * remembers the id as dead here, and a replayed copy of a dead id is handled again, once: once
 * handled the mark goes, so a second replay is a duplicate. A copy that fails again is
 * dead-lettered again, and may be replayed again.
 */
import type { Cache } from "../cache/port.ts";
import type { LogMessage } from "../log/port.ts";

/** Set by the DLQ tool on a message it writes back: `<dlq topic>/<partition>/<offset>`. */
export const REPLAY_HEADER = "x-dlq-replay";

/** The ids a stage dead-lettered and has not handled since. */
export interface DeadLetterMarks {
  isDead(id: string): Promise<boolean>;
  mark(ids: readonly string[]): Promise<void>;
  clear(ids: readonly string[]): Promise<void>;
}

/**
 * Marks in the cache (Redis or in memory), one key per id, kept as long as the stage's dedup keeps
 * the id (after that a replayed copy is not a duplicate anyway).
 *
 * @example
 * const marks = cacheDeadLetters(cache, "risk", 3 * 24 * 3_600_000);
 */
export function cacheDeadLetters(cache: Cache, stage: string, ttlMs: number): DeadLetterMarks {
  const key = (id: string) => `dlq:${stage}:${id}`;
  return {
    isDead: async (id) => (await cache.get(key(id))) !== null,
    mark: async (ids) => void (await Promise.all(ids.map((id) => cache.set(key(id), "1", ttlMs)))),
    clear: async (ids) => void (ids.length > 0 && (await cache.del(ids.map(key)))),
  };
}

/**
 * One batch's view of replays, for the stream processor: which seen ids may be handled again,
 * which were dead-lettered, and, after the batch, the marks to write and clear.
 */
export class ReplayBatch {
  private readonly dead: string[] = [];
  /** Replayed copies of dead ids let through in this batch. */
  private readonly admitted = new Set<string>();
  /** Replayed copies handled in this batch: their dead marks go. */
  private readonly handledCopies = new Set<string>();

  constructor(private readonly marks: DeadLetterMarks | undefined) {}

  /** True when a message whose id was seen is a replay of a dead letter of this stage, not yet let through in this batch. */
  async admits(m: LogMessage, id: string): Promise<boolean> {
    if (!this.marks || m.headers[REPLAY_HEADER] === undefined || this.admitted.has(id) || this.handledCopies.has(id)) return false;
    if (!(await this.marks.isDead(id))) return false;
    this.admitted.add(id);
    return true;
  }

  /** The envelope was handled. A replayed copy clears its mark even when the dedup had forgotten the id. */
  handled(m: LogMessage, id: string): void {
    if (this.marks && m.headers[REPLAY_HEADER] !== undefined) this.handledCopies.add(id);
  }

  /** The envelope was dead-lettered in this batch. */
  deadLettered(id: string): void {
    this.dead.push(id);
    this.handledCopies.delete(id);
  }

  /** Writes the dead marks, then `markSeen` (the dedup), then clears the marks of replays handled. */
  async settle(markSeen: () => Promise<void>): Promise<void> {
    // Dead before seen: a crash in between redelivers the batch (not yet seen), nothing is lost.
    if (this.marks && this.dead.length > 0) await this.marks.mark(this.dead);
    await markSeen();
    if (this.marks && this.handledCopies.size > 0) await this.marks.clear([...this.handledCopies]);
  }
}
