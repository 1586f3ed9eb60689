/**
 * The portfolio stage's writes of positions to the read model (`{broker}:positions`): a position a
 * fill changed is written at once; one only marked to market waits for the MARKS_EVERY_MS cadence,
 * since nobody needs unrealised P&L fresher, and a hash write per batch of ticks would be most of
 * the stage's cache traffic.
 */
import type { Cache } from "../../cache/port.ts";
import type { Broker } from "../../config.ts";
import type { PortfolioState } from "../../portfolio/index.ts";
import { positionsKey } from "../../portfolio/read-model.ts";

/**
 * How often (wall clock: a cache write decides nothing) positions that only a tick changed (their
 * unrealised P&L) are written to the read model: a batch with fills writes its positions at once.
 */
export const MARKS_EVERY_MS = 250;

/**
 * @example
 * const writes = new PositionWrites(ctx.cache, brokers, (b) => state.get(b)!);
 * writes.filled("paper", key);         // a fill changed it
 * await Promise.all(writes.due(true)); // after the batch
 */
export class PositionWrites {
  /** Per broker, the position keys changed since they were last written. */
  private readonly unwritten: Map<Broker, Set<string>>;
  /** Of those, the ones a fill changed: written at once; the ones only marked wait for the cadence. */
  private readonly unwrittenByFill: Map<Broker, Set<string>>;
  private allWrittenAt = 0;

  constructor(
    private readonly cache: Cache,
    brokers: readonly Broker[],
    private readonly stateOf: (broker: Broker) => PortfolioState,
  ) {
    this.unwritten = new Map(brokers.map((b) => [b, new Set()]));
    this.unwrittenByFill = new Map(brokers.map((b) => [b, new Set()]));
  }

  /** A tick changed the position (its mark). */
  marked(broker: Broker, key: string): void {
    this.unwritten.get(broker)!.add(key);
  }

  /** A fill changed the position. */
  filled(broker: Broker, key: string): void {
    this.unwritten.get(broker)!.add(key);
    this.unwrittenByFill.get(broker)!.add(key);
  }

  /**
   * Writes the unwritten positions, or (`onlyFilled`) only those a fill changed; taken now, put
   * back if the write fails.
   */
  async write(onlyFilled: boolean): Promise<void> {
    if (!onlyFilled) this.allWrittenAt = Date.now();
    const writes: Array<Promise<unknown>> = [];
    for (const [broker, all] of this.unwritten) {
      const byFill = this.unwrittenByFill.get(broker)!;
      const keys = onlyFilled ? byFill : all;
      if (keys.size === 0) continue;
      const positions = this.stateOf(broker).positions;
      const fields: Record<string, string> = {};
      for (const k of keys) fields[k] = JSON.stringify(positions[k]);
      const taken = [...keys];
      const takenByFill = taken.filter((k) => byFill.has(k));
      for (const k of taken) all.delete(k);
      for (const k of takenByFill) byFill.delete(k);
      writes.push(
        this.cache.hset(positionsKey(broker), fields).catch((err: unknown) => {
          for (const k of taken) all.add(k);
          for (const k of takenByFill) byFill.add(k);
          throw err;
        }),
      );
    }
    await Promise.all(writes);
  }

  /**
   * The writes that are due: positions a fill changed (`filled`: the batch had fills) at once,
   * every changed position at most every MARKS_EVERY_MS. A batch of ticks marks every held
   * position, so writing them all with each fill would write the whole book.
   */
  due(filled: boolean): Array<Promise<unknown>> {
    const due: Array<Promise<unknown>> = [];
    if (Date.now() - this.allWrittenAt >= MARKS_EVERY_MS && [...this.unwritten.values()].some((k) => k.size > 0)) due.push(this.write(false));
    else if (filled && [...this.unwrittenByFill.values()].some((k) => k.size > 0)) due.push(this.write(true));
    return due;
  }
}
