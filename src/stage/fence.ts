/**
 * A batch still in hand after the stage's handler timeout (a hung store or cache call) fails
 * uncommitted, as a transient failure: the worker is restarted and the batch redelivered. The
 * processor is then fenced, so the hung work, should it ever resume, sends, saves and marks
 * nothing.
 *
 * @example
 * await fence.within(5_000, work, () => new AlphaError("TIMEOUT", "…", { canRetry: true }));
 * fence.check(); // before anything goes out
 */
import type { AlphaError } from "../errors.ts";

export class Fence {
  private raised: AlphaError | undefined;

  /** Throws once the fence is up (a batch outlived its time). */
  check(): void {
    if (this.raised) throw this.raised;
  }

  /** Runs `work`; past `ms` (none: no limit) raises the fence with `expired()` and rejects with it. */
  async within(ms: number | undefined, work: () => Promise<void>, expired: () => AlphaError): Promise<void> {
    this.check();
    if (ms === undefined) return work();
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.raised = expired();
        reject(this.raised);
      }, ms);
    });
    try {
      await Promise.race([work(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
