/**
 * RECORD_FILE: every tick published to market.ticks, appended to a file in the replay feed's
 * format (one tick payload per JSON line, see replay.ts), so a session can be replayed later with
 * FEED=replay. Recording keeps only a reference per batch; the lines are built and written every
 * `flushMs`, one append at a time, so publishing never waits on the disk.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { Tick } from "../events/payloads.ts";
import type { Logger } from "../logger.ts";

export interface RecorderStats {
  /** Ticks written to the file. */
  recorded: number;
  /** Ticks that could not be written (a failed append loses its whole chunk). */
  failed: number;
}

/**
 * @example
 * const recorder = await TickRecorder.open("ticks.jsonl", log);
 * recorder.record(ticks);
 * await recorder.close(); // everything recorded is in the file
 */
export class TickRecorder {
  readonly stats: RecorderStats = { recorded: 0, failed: 0 };
  private pending: Array<readonly Tick[]> = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    private readonly log: Logger | undefined,
    flushMs: number,
  ) {
    this.timer = setInterval(() => this.flush(), flushMs);
    // The timer alone must not keep a process alive that has nothing else to do.
    this.timer.unref?.();
  }

  static async open(path: string, log?: Logger, flushMs = 100): Promise<TickRecorder> {
    return new TickRecorder(path, await open(path, "a"), log, flushMs);
  }

  /** Queues published ticks; the array must not be changed afterwards (publishers drop theirs). */
  record(ticks: readonly Tick[]): void {
    if (!this.closed && ticks.length > 0) this.pending.push(ticks);
  }

  /** Starts writing what is queued, after any write in progress (so lines stay in order). */
  flush(): Promise<void> {
    if (this.pending.length === 0) return this.writing;
    const batches = this.pending;
    this.pending = [];
    this.writing = this.writing.then(() => this.write(batches));
    return this.writing;
  }

  /** Writes what is queued and closes the file; later ticks are ignored. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    await this.file.close().catch(() => {});
  }

  private async write(batches: Array<readonly Tick[]>): Promise<void> {
    let count = 0;
    const lines: string[] = [];
    for (const batch of batches) {
      for (const tick of batch) lines.push(JSON.stringify(tick));
      count += batch.length;
    }
    try {
      await this.file.appendFile(lines.join("\n") + "\n");
      this.stats.recorded += count;
    } catch (err) {
      // Logged once: a full disk would otherwise log every 100 ms; the metric keeps counting.
      if (this.stats.failed === 0) this.log?.error({ err: (err as Error).message, file: this.path }, "cannot write to RECORD_FILE; ticks are published but not recorded");
      this.stats.failed += count;
    }
  }
}
