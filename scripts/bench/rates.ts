/**
 * Tick → fill across rates (issue 36): the pipeline section's latency phase at 5,000, 1,000 and
 * 100 ticks/s, each beside the floor of its mode measured in the same run, four hops of it:
 *
 * - embedded: one hop through the in-process log as the stages make it (a worker's producer,
 *   the log on the main thread through its bridge, another worker's consumer: wake.ts
 *   measureLogHop), one message every 20 ms as the Kafka floor is;
 * - Kafka: `kafka.floor_ms.hop` (kafka-floors.ts), one hop through our client.
 *
 * A fill's chain is four hops (tick → strategy → risk → execution → portfolio), so `floor4` is the
 * hop's quantile times four: what the chain would cost if the stages, the dedup and the ledger
 * took no time and every hop waited only as long as the bare one. (Four times a p99 is above the
 * p99 of four hops in series: the p99 target is the looser of the two on purpose.)
 *
 * Each rate yields FILLS_PER_S fills a second (the bench strategy turns on each price turn), so
 * the portfolio's 10-second window holds about 200 of them at every rate; each instrument ticked
 * gets TICKS_PER_INSTRUMENT_S ticks a second (fewer instruments at a lower rate), so its turns come
 * within the phase.
 */
import { round } from "./support.ts";
import type { BenchOptions, BenchSection } from "./types.ts";
import { measureLogHop } from "./wake.ts";

/** The rates measured, the first (the highest) after the warm-up. */
export const RATES = [5_000, 1_000, 100] as const;
/** Fills a second at every rate: one price turn per `rate / FILLS_PER_S` ticks. */
export const FILLS_PER_S = 20;
/** Ticks a second each ticked instrument gets (TickSource.use): `rate / TICKS_PER_INSTRUMENT_S` instruments. */
export const TICKS_PER_INSTRUMENT_S = 5;
/** The floors' pace, as the pipeline's orders and fills come (about 20 a second). */
const FLOOR_GAP_MS = 20;

/** Ticks per price turn at `rate` ticks/s (TickSource.moveEvery). */
export const moveEveryAt = (rate: number) => Math.max(2, Math.round(rate / FILLS_PER_S));

/** `<mode>.floor4_ms.*`: four times one hop's quantiles (null when the hop was not measured). */
export function floor4(mode: string, hop: { p50: number | null | undefined; p99: number | null | undefined }): BenchSection {
  const x4 = (v: number | null | undefined) => (typeof v === "number" ? round(4 * v, 3) : null);
  return { [`${mode}.floor4_ms.p50`]: x4(hop.p50), [`${mode}.floor4_ms.p99`]: x4(hop.p99) };
}

/** The embedded floor: one hop through the in-process log between two workers, then floor4. */
export async function embeddedFloors(opts: BenchOptions): Promise<BenchSection> {
  try {
    const q = await measureLogHop(500, FLOOR_GAP_MS);
    opts.log(`  embedded floor, one every ${FLOOR_GAP_MS} ms, p50/p99/p99.9 ms: a hop through the in-process log ${q.p50}/${q.p99}/${q.p999}`);
    return { "embedded.floor_ms.hop.p50": q.p50, "embedded.floor_ms.hop.p99": q.p99, "embedded.floor_ms.hop.p999": q.p999, ...floor4("embedded", q) };
  } catch (err) {
    opts.log(`  embedded: the hop floor not measured: ${(err as Error).message}`);
    return { "embedded.floor_ms.hop.p50": null, "embedded.floor_ms.hop.p99": null, "embedded.floor_ms.hop.p999": null, ...floor4("embedded", { p50: null, p99: null }) };
  }
}

/**
 * What one rate's phase measured, under `<mode>.tick_to_fill_ms.at_<rate>.*` and
 * `<mode>.hop_ms.at_<rate>.*`; null when `r` is undefined (not this gateway's numbers).
 */
export function rateKeys(mode: string, rate: number, r: { p50: number; p95: number; p99: number; max: number; samples: number; fillsPerS: number; hops: Record<string, { p50: number; p99: number }> } | undefined): BenchSection {
  const at = `${mode}.tick_to_fill_ms.at_${rate}`;
  if (!r) return { [`${at}.p50`]: null, [`${at}.p95`]: null, [`${at}.p99`]: null, [`${at}.max`]: null, [`${at}.samples`]: null, [`${at}.fills_per_s`]: null };
  const out: BenchSection = { [`${at}.p50`]: r.p50, [`${at}.p95`]: r.p95, [`${at}.p99`]: r.p99, [`${at}.max`]: r.max, [`${at}.samples`]: r.samples, [`${at}.fills_per_s`]: r.fillsPerS };
  for (const [hop, q] of Object.entries(r.hops)) {
    out[`${mode}.hop_ms.at_${rate}.${hop}.p50`] = q.p50;
    out[`${mode}.hop_ms.at_${rate}.${hop}.p99`] = q.p99;
  }
  return out;
}

/** The keys bench-results.json always has for this part (null when not measured). */
export const RATE_KEYS = (["embedded", "kafka"] as const).flatMap((mode) => [
  ...RATES.flatMap((rate) => [`${mode}.tick_to_fill_ms.at_${rate}.p50`, `${mode}.tick_to_fill_ms.at_${rate}.p99`]),
  `${mode}.floor4_ms.p50`,
  `${mode}.floor4_ms.p99`,
]);
