/**
 * 5. Memory. First idle (scripts/bench/memory-idle.ts): a gateway ready with nothing to do,
 * embedded in memory, embedded with a data directory and distributed, each thread's heap, and the
 * floor under each measured beside it (`memory.idle_mb.*`, `memory.floor_mb.*`,
 * `memory.<mode>.heap_mb.<thread>`). Then under load: the resident set of the gateway process (its stage workers are threads of it, so
 * VmRSS covers them; embedded, it also holds the in-process log, the cache and PGlite) before and
 * after sustained load at the offered 5,000 ticks/s, with the benchmark strategy trading (about
 * 20 fills a second).
 *
 * The RSS is sampled every 5 s. "Before" is the median of the last three samples of a warm-up at
 * the same load (60 s with `--long`: JIT, heaps grown to their working size, the first positions
 * in place), "after" the median of the last three samples of the load (5 minutes with `--long`),
 * so one garbage collection more or less does not decide the result; the slope over the second
 * half of the load says whether it still grows. `memory.rss_growth_mb` = after − before, with
 * `--long` only. A short run says nothing about a trend: growth is null, and when the pipeline
 * section ran in the same run its embedded gateway's RSS is reported (ready, warm, after
 * saturation) instead of starting another gateway.
 */
import type { BenchOptions, BenchSection } from "./types.ts";
import { floorRss, idleGateway } from "./memory-idle.ts";
import { embeddedRss, LATENCY_MOVE_EVERY, OFFERED_TICKS_PER_S, prime, startPipeline } from "./pipeline.ts";
import { offerPaced, rssMb, round, stageStats, TickSource } from "./support.ts";

const SAMPLE_MS = 5_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};

/** Least-squares slope of (t s, y) in y per minute. */
function slopePerMin(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const out: BenchSection = {};
  const errors: string[] = [];
  const measure = async (what: string, f: () => Promise<BenchSection>) => {
    try {
      Object.assign(out, await f());
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
      opts.log(`  ${what} failed: ${(err as Error).message}`);
    }
  };
  const distributed = !opts.modes || opts.modes.includes("kafka");
  await measure("embedded floor", async () => ({ "memory.floor_mb.embedded": await floorRss("embedded") }));
  await measure("embedded idle", () => idleGateway("embedded", opts));
  await measure("embedded idle with a data directory", () => idleGateway("disk", opts));
  if (distributed) {
    await measure("distributed floor", async () => ({ "memory.floor_mb.distributed": await floorRss("distributed") }));
    await measure("distributed idle", () => idleGateway("distributed", opts));
  }
  opts.log(`  floors (the gateway's threads and code, PGlite embedded, nothing of ours running): embedded ${out["memory.floor_mb.embedded"] ?? "—"} MB, distributed ${out["memory.floor_mb.distributed"] ?? "—"} MB`);
  await measure("under load", () => underLoad(opts));
  if (errors.length > 0) throw Object.assign(new Error(errors.join("; ")), { partial: out });
  return out;
}

/** The embedded gateway's RSS before and after sustained load (see the file's comment). */
async function underLoad(opts: BenchOptions): Promise<BenchSection> {
  if (!opts.long && embeddedRss) {
    // A short run: the pipeline section's embedded gateway was measured already; no trend in it.
    const r = embeddedRss;
    opts.log(`  from the pipeline section's embedded gateway: RSS ${r.idle} MB ready, ${r.warm} MB after 12 s at ${OFFERED_TICKS_PER_S} ticks/s, ${r.after} MB after 10 s at saturation (growth: --long)`);
    return { "memory.rss_idle_mb": r.idle, "memory.rss_before_mb": r.warm, "memory.rss_after_mb": r.after, "memory.rss_growth_mb": null };
  }
  const warmupMs = opts.long ? 60_000 : 10_000;
  const loadMs = opts.long ? 300_000 : 10_000;
  const run = await startPipeline("embedded", opts);
  try {
    const pid = run.gw.pid;
    const rss = () => {
      const v = rssMb(pid);
      if (v === undefined) throw new Error(`the gateway (pid ${pid}) is gone`);
      return v;
    };
    const idle = rss();
    const source = new TickSource(run.instruments, LATENCY_MOVE_EVERY);
    await prime(run, source);

    /** Offers the load for `ms` in slices of SAMPLE_MS, sampling the RSS after each. */
    const samples: Array<[number, number]> = [];
    const t0 = Date.now();
    let sent = 0;
    const load = async (ms: number) => {
      for (let done = 0; done < ms; done += SAMPLE_MS) {
        sent += (await offerPaced(run.send, source, OFFERED_TICKS_PER_S, Math.min(SAMPLE_MS, ms - done))).sent;
        samples.push([(Date.now() - t0) / 1000, rss()]);
        if (opts.long && samples.length % 6 === 0) opts.log(`  ${Math.round((Date.now() - t0) / 1000)} s: RSS ${samples.at(-1)![1]} MB`);
      }
    };
    await load(warmupMs);
    const warm = samples.length;
    const before = median(samples.slice(-3).map(([, y]) => y));
    opts.log(`  gateway ${pid} (embedded): RSS ${idle} MB idle, ${before} MB after a ${warmupMs / 1000} s warm-up at ${OFFERED_TICKS_PER_S} ticks/s`);
    await load(loadMs);
    const after = median(samples.slice(-3).map(([, y]) => y));
    const during = samples.slice(warm);
    const peak = Math.max(...during.map(([, y]) => y));
    const slope = slopePerMin(during.slice(Math.floor(during.length / 2)));
    const stats = await stageStats(run.api);
    const restarts = Object.values(stats).reduce((n, s) => n + (s.restarts ?? 0), 0);
    opts.log(
      `  after ${loadMs / 1000} s more (${sent} ticks in all): RSS ${after} MB (peak ${peak} MB; ${round(slope, 1)} MB/min over the second half)${restarts > 0 ? `; ${restarts} worker restarts!` : ""}`,
    );
    return {
      "memory.rss_idle_mb": idle,
      "memory.rss_before_mb": before,
      "memory.rss_after_mb": after,
      "memory.rss_peak_mb": peak,
      "memory.rss_slope_mb_per_min": round(slope, 1),
      "memory.warmup_s": warmupMs / 1000,
      "memory.load_s": loadMs / 1000,
      "memory.offered_ticks_per_s": OFFERED_TICKS_PER_S,
      "memory.worker_restarts": restarts,
      "memory.rss_growth_mb": opts.long ? round(after - before, 1) : null,
    };
  } finally {
    await run.close();
  }
}
