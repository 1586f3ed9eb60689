import { AlphaError } from "../errors.ts";

/**
 * The producer side's bounded queue, shared by every adapter: `limit` holders at once, at most
 * `maxQueued` waiting, and past that a LOG_FULL refusal instead of an unbounded buffer.
 *
 * @example
 * const gate = new SendGate(8, 1024, "paper.orders");
 * await gate.run(() => producer.send(batch));
 */
export class SendGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly maxQueued: number,
    private readonly what: string,
  ) {}

  /** Sends in flight plus sends waiting. */
  get pending(): number {
    return this.active + this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxQueued) {
        throw new AlphaError(
          "LOG_FULL",
          `${this.what}: ${this.active} sends in flight and ${this.waiting.length} queued (maxQueued ${this.maxQueued}); slow down or raise the limit`,
          { canRetry: true },
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else {
        this.active--;
        if (this.active === 0) {
          const idle = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of idle) w();
        }
      }
    }
  }

  /** Resolves when nothing is in flight or queued. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
