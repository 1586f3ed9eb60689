/**
 * 3. Backtest: `bun run backtest`'s engine (src/backtest) on one momentum strategy over 100
 * instruments, 1,000,000 ticks made deterministically (the pipeline section's TickSource, one
 * tick per instrument per second of event time, a turn every 1,000 ticks of an instrument),
 * with the pipeline section's raised limits. Measured: the run itself (the ticks through the
 * four stages and the results; not the store's start or writing the files), as ticks/s, and
 * from it the seconds a full NSE day (6 h 15 min, 100 instruments at one tick a second each:
 * 2,250,000 ticks) would take: extrapolated, not run.
 *
 * Beside it, the embedded pipeline's sustained ticks/s of the same run: the pipeline section's
 * if it ran before this one, else measured here the same way (its throughput phase alone).
 */
import { runBacktest, type InputTick } from "../../src/backtest/index.ts";
import { fileTickId } from "../../src/market/replay.ts";
import { parseLimits } from "../../src/risk/limits.ts";
import { prime, startPipeline, throughputPhase } from "./pipeline.ts";
import { round, syntheticInstruments, TickSource } from "./support.ts";
import type { BenchOptions, BenchSection } from "./types.ts";

const TICKS = 1_000_000;
const INSTRUMENTS = 100;
const NSE_DAY_S = 6 * 3600 + 15 * 60;
const START = Date.parse("2026-12-07T03:45:00.000Z"); // 09:15 IST

/** The ticks, with ids and event times as a file would give them. */
function ticks(): { ticks: InputTick[]; tokens: number[] } {
  const instruments = syntheticInstruments(INSTRUMENTS);
  const source = new TickSource(instruments, 1_000);
  const out: InputTick[] = new Array(TICKS);
  for (let done = 0; done < TICKS; done += INSTRUMENTS) {
    const ts = new Date(START + (done / INSTRUMENTS) * 1000).toISOString();
    const batch = source.next(INSTRUMENTS);
    for (let k = 0; k < batch.length; k++) {
      const tick = { ...batch[k]!, exchange_ts: ts, feed: "replay" };
      out[done + k] = { id: fileTickId("bench", done + k + 1, ts), tick };
    }
  }
  return { ticks: out, tokens: instruments.map((i) => i.instrument_token) };
}

async function embeddedPipeline(opts: BenchOptions): Promise<number> {
  const known = opts.measured?.["embedded.pipeline_ticks_per_s"];
  if (typeof known === "number") {
    opts.log(`  embedded pipeline: ${known} ticks/s, from the pipeline section of this run`);
    return known;
  }
  const run = await startPipeline("embedded", opts);
  try {
    const source = new TickSource(run.instruments, 1_000);
    await prime(run, source);
    const thr = await throughputPhase(run, source, 2_000, opts.long ? 30_000 : 10_000, opts);
    return thr.ticksPerS;
  } finally {
    await run.close();
  }
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const pipeline = await embeddedPipeline(opts);
  const { ticks: input, tokens } = ticks();
  const instruments = syntheticInstruments(INSTRUMENTS);
  const { report } = await runBacktest({
    file: "bench",
    ticks: input,
    instruments,
    strategies: [{ id: "bench_flip", kind: "momentum", params: { lookback: 1, threshold_bps: 0.01, quantity: 1, allow_short: true }, instruments: tokens, brokers: ["paper"], enabled: true }],
    limits: parseLimits({
      max_orders_per_second: 1_000_000,
      max_orders_per_strategy_per_day: 1_000_000_000,
      max_position_quantity: 1_000_000,
      max_order_quantity: 1_000_000,
      max_order_notional: 10_000_000_000_000,
      max_daily_loss: 10_000_000_000_000,
    }),
  });
  const rate = Number(report.run.ticks_per_s);
  const day = round((INSTRUMENTS * NSE_DAY_S) / rate, 2);
  const t = report.total;
  opts.log(
    `  backtest: ${rate} ticks/s (${TICKS} ticks in ${report.run.elapsed_s} s; ${t.signals} signals, ${t.fills} fills); a full NSE day of 100 instruments at 1 tick/s: ${day} s (extrapolated); ` +
      `embedded pipeline ${pipeline} ticks/s: ×${round(rate / pipeline, 1)} (target ×10)`,
  );
  return {
    "backtest.ticks_per_s": rate,
    "backtest.ticks": TICKS,
    "backtest.instruments": INSTRUMENTS,
    "backtest.fills": Number(t.fills),
    "backtest.elapsed_s": Number(report.run.elapsed_s),
    "backtest.nse_day_s": day,
    "backtest.embedded_pipeline_ticks_per_s": pipeline,
    "backtest.vs_embedded_pipeline": round(rate / pipeline, 2),
  };
}
