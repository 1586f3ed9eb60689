/**
 * Latency of the pipeline, measured where a fill is applied (the portfolio stage): now minus the
 * creation time of the event that started the fill's chain. A strategy's order carries the
 * tick's id as its correlation id (src/events/envelope.ts childOf; the paper exchange keeps it
 * per order), and that id is a UUIDv7 that holds the tick envelope's creation time (its
 * millisecond, and in the 12 bits after the version its fraction: src/events/ids.ts newId); so
 * this is tick → fill. (An order placed through the API starts its own chain: there it is
 * request → fill.)
 *
 * Precision: both ends are read from the same clock, the wall clock with the monotonic clock's
 * resolution (src/events/ids.ts wallClockMs), in whichever thread or process; the start is
 * stored to 1/4096 ms.
 *
 * Recording is one HdrHistogram `recordValue` (µs, 3 significant digits). Quantiles are computed
 * only when the stage posts its stats (every second), over a sliding window of the last
 * `windowS` seconds, as Prometheus summaries do; count and sum are since the worker started.
 */
import { build, type Histogram } from "hdr-histogram-js";
import { wallClockMs } from "../events/ids.ts";
import type { LogMessage } from "../log/port.ts";

/** What the stats carry: milliseconds. */
export interface LatencyStats {
  /** Samples since the worker started. */
  count: number;
  /** Their sum, ms. */
  sum_ms: number;
  /** The window the quantiles cover, and how many samples fell in it. */
  window_s: number;
  window_count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** 60 s in µs: anything slower is recorded as 60 s. */
const HIGHEST_US = 60_000_000;

const histogram = (): Histogram =>
  build({ bitBucketSize: 32, autoResize: false, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, useWebAssembly: false });

export { uuidv7Time } from "../events/ids.ts";

/** ms since the epoch of an envelope's `ts` (ISO 8601, whole ms); undefined when it does not parse. */
export function isoMs(ts: string): number | undefined {
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Past this, a start is not the start of something in flight (see `recordSince`). */
const NOT_A_LATENCY_MS = 3_600_000;

/** Wall-clock ms with sub-millisecond resolution (src/events/ids.ts). */
export const wallMs = wallClockMs;

/**
 * @example
 * const latency = new LatencyWindow();
 * latency.recordSince(uuidv7Time(fill.correlation_id));   // in the hot path
 * stats.tickToFill = latency.rotate();                   // once a second
 */
export class LatencyWindow {
  private readonly ring: Histogram[];
  /** The sum of the ring, kept as samples are recorded: a rotation subtracts one second, rather than adding up ten. */
  private readonly window = histogram();
  private current = 0;
  private count = 0;
  private sumUs = 0;

  constructor(readonly windowS = 10) {
    this.ring = Array.from({ length: windowS }, histogram);
  }

  /**
   * Records `nowMs` (default: the wall clock now) − `startMs`; ignored when `startMs` is undefined,
   * or over an hour ago: a chain whose ids carry a replayed file's time (FEED=replay), not a latency.
   */
  recordSince(startMs: number | undefined, nowMs: number = wallMs()): void {
    if (startMs === undefined || nowMs - startMs > NOT_A_LATENCY_MS) return;
    const us = Math.min(Math.max(Math.round((nowMs - startMs) * 1000), 0), HIGHEST_US);
    this.ring[this.current]!.recordValue(us);
    this.window.recordValue(us);
    this.count++;
    this.sumUs += us;
  }

  /** Closes the current second; quantiles over the window. Undefined before the first sample. */
  rotate(): LatencyStats | undefined {
    if (this.count === 0) return undefined;
    const h = this.window;
    const ms = (us: number) => Math.round(us) / 1000;
    const stats: LatencyStats = {
      count: this.count,
      sum_ms: ms(this.sumUs),
      window_s: this.windowS,
      window_count: h.totalCount,
      p50: ms(h.getValueAtPercentile(50)),
      p95: ms(h.getValueAtPercentile(95)),
      p99: ms(h.getValueAtPercentile(99)),
      max: ms(h.maxValue),
    };
    // The oldest second leaves the window, and its histogram takes the next second.
    this.current = (this.current + 1) % this.ring.length;
    const oldest = this.ring[this.current]!;
    if (oldest.totalCount > 0) {
      h.subtract(oldest);
      oldest.reset();
    }
    return stats;
  }
}

/** At most about this many hop samples a batch (StreamProcessor.inbound). */
export const INBOUND_SAMPLES = 64;

/**
 * Which messages of a batch a stage's hop latency samples: about INBOUND_SAMPLES evenly spaced
 * ones of the inputs it does not conflate, so a big batch of ticks costs little, and a rare
 * signal among conflated ticks is always taken. Ask once per message, in batch order.
 *
 * @example
 * const sampled = hopSampler(batch, new Set(["market.ticks"]));
 * for (const m of batch) if (sampled(m)) inbound.recordSince(m.timestamp, arrived);
 */
export function hopSampler(batch: readonly LogMessage[], conflated: ReadonlySet<string>): (m: LogMessage) => boolean {
  let inputs = 0;
  for (const m of batch) if (!conflated.has(m.topic)) inputs++;
  const stride = Math.ceil(inputs / INBOUND_SAMPLES);
  let at = -1;
  return (m) => !conflated.has(m.topic) && ++at % stride === 0;
}
