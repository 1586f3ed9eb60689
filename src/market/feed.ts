/**
 * Runs a feed into market.ticks: each tick becomes an envelope keyed by its instrument token.
 * A send that the log refuses (LOG_FULL) is retried after a pause rather than dropped: the feed
 * slows down to what the pipeline can take.
 */
import type { FeedKind } from "../config.ts";
import { createEvent, encodeEnvelope } from "../events/envelope.ts";
import type { Tick } from "../events/payloads.ts";
import { isRetryable } from "../errors.ts";
import type { Producer } from "../log/port.ts";
import type { Logger } from "../logger.ts";
import { topicName } from "../topics.ts";
import { simulatable, type InstrumentMaster } from "./instruments.ts";
import type { TickRecorder } from "./recorder.ts";
import { fileDigest, fileTickId, parseReplayLines, replayDelayMs, replayEnvelope } from "./replay.ts";
import { RandomWalk } from "./simulated.ts";

export interface FeedOptions {
  kind: FeedKind;
  seed: number;
  intervalMs: number;
  replayFile?: string;
  replaySpeed: number;
}

export interface FeedStats {
  kind: FeedKind;
  published: number;
  running: boolean;
  lastError?: string;
}

const TICKS = topicName("marketTicks");

// Keyed by producer, not global: every feed and the API publish through publishTicks, and a
// process may run more than one gateway (tests), each with its own RECORD_FILE or none.
const recorders = new WeakMap<Producer, TickRecorder>();

/** Records every tick published through `producer` from now on (RECORD_FILE). */
export function recordTicks(producer: Producer, recorder: TickRecorder): void {
  recorders.set(producer, recorder);
}

/**
 * Publishes ticks as envelopes on market.ticks; resolves when acknowledged. `ids`: the ticks' own
 * ids (a replayed file's, src/market/replay.ts), and then their envelopes carry the ticks' time;
 * without them each tick is a new event of now.
 */
export async function publishTicks(producer: Producer, ticks: readonly Tick[], source: string, ids?: readonly string[]): Promise<void> {
  if (ticks.length === 0) return;
  await producer.send(
    ticks.map((data, i) => {
      const key = String(data.instrument_token);
      const e = ids ? replayEnvelope(data, ids[i]!, source) : createEvent({ type: "market.tick", source, broker: "shared", key, data });
      return { topic: TICKS, key, value: encodeEnvelope(e) };
    }),
  );
  // After the acknowledgement: a send refused and retried is recorded once, when it is published.
  recorders.get(producer)?.record(ticks);
}

/**
 * @example
 * const feed = new Feed(options, producer, log, master);
 * feed.start();
 * await feed.stop();
 */
export class Feed {
  readonly stats: FeedStats;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly options: FeedOptions,
    private readonly producer: Producer,
    private readonly log: Logger,
    /** What the simulated feed prices. */
    private readonly instruments: InstrumentMaster,
  ) {
    this.stats = { kind: options.kind, published: 0, running: false };
  }

  start(): void {
    if (this.options.kind === "none" || this.loop) return;
    this.stats.running = true;
    this.loop = (this.options.kind === "simulated" ? this.simulate() : this.replay())
      .catch((err: unknown) => {
        this.stats.lastError = (err as Error).message;
        this.log.error({ err }, "feed stopped on an error");
      })
      .finally(() => {
        this.stats.running = false;
      });
  }

  /** Stops after the batch in hand is acknowledged. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async publish(ticks: Tick[], ids?: string[]): Promise<void> {
    for (;;) {
      try {
        await publishTicks(this.producer, ticks, `feed.${this.options.kind}`, ids);
        this.stats.published += ticks.length;
        return;
      } catch (err) {
        if (!isRetryable(err) || this.stopping) throw err;
        this.log.warn({ err: (err as Error).message }, "market.ticks is full; the feed waits");
        await this.sleep(200);
      }
    }
  }

  private async simulate(): Promise<void> {
    // The instruments of the master that have a tick grid, a lot size and a price to start from.
    const tradable = this.instruments.all().filter(simulatable);
    const market = new RandomWalk(tradable, this.options.seed);
    this.log.info({ instruments: tradable.length, seed: this.options.seed, interval_ms: this.options.intervalMs, topic: TICKS }, "simulated feed started");
    let next = Date.now();
    while (!this.stopping) {
      await this.publish(market.step(new Date()));
      next += this.options.intervalMs;
      await this.sleep(Math.max(0, next - Date.now()));
    }
  }

  private async replay(): Promise<void> {
    const file = this.options.replayFile!;
    const text = await Bun.file(file).text();
    this.log.info({ file, speed: this.options.replaySpeed, topic: TICKS }, "replay feed started");
    // Each tick keeps the file's time and an id from the file (src/market/replay.ts): what it
    // causes is then what `bun run backtest` makes of the same file.
    const digest = fileDigest(text);
    let previous: Tick | undefined;
    let batch: Tick[] = [];
    let ids: string[] = [];
    for (const { tick, line } of parseReplayLines(text, file)) {
      if (this.stopping) break;
      const delay = replayDelayMs(previous, tick, this.options.replaySpeed);
      if ((delay > 0 && batch.length > 0) || batch.length >= 500) {
        await this.publish(batch, ids);
        batch = [];
        ids = [];
      }
      if (delay > 0) await this.sleep(delay);
      batch.push(tick);
      ids.push(fileTickId(digest, line, tick.exchange_ts));
      previous = tick;
    }
    if (batch.length > 0 && !this.stopping) await this.publish(batch, ids);
    this.log.info({ published: this.stats.published }, "replay finished");
  }
}
