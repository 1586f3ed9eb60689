/**
 * The pipeline's health as GET /api/v1/pipeline answers it (the ops part's contract), and the same
 * shape read from /metrics' Prometheus text for a gateway without that route.
 */

export interface StageHealth {
  name: string;
  running: boolean;
  restarts: number;
  partitions: number;
  handled: number;
  produced: number;
  rate_per_s: number | null;
  lag: number | null;
  dead_letters: number;
}

export interface PipelineHealth {
  stages: StageHealth[];
  tick_to_fill_ms: { p50: number; p99: number; count: number } | null;
  dlq: Array<{ topic: string; depth: number }>;
}

/**
 * The pipeline from Prometheus text (gateway/app.ts's /metrics), `previous` for the rate.
 *
 * @example
 * fromMetrics(text, undefined, 2000).stages[0].name; // "strategy"
 */
export function fromMetrics(text: string, previous: PipelineHealth | undefined, elapsedMs: number): PipelineHealth {
  const stages = new Map<string, StageHealth>();
  const quantiles = new Map<string, number>();
  let count = 0;
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line) ?? /^(\w+)() (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, labels, raw] = m;
    const value = Number(raw);
    const stage = /stage="([^"]+)"/.exec(labels!)?.[1];
    if (name === "alpha_panda_tick_to_fill_ms") quantiles.set(/quantile="([^"]+)"/.exec(labels!)?.[1] ?? "", value);
    if (name === "alpha_panda_tick_to_fill_ms_count") count = value;
    if (!stage || !name!.startsWith("alpha_panda_stage_") || name!.startsWith("alpha_panda_stage_inbound")) continue;
    const s = stages.get(stage) ?? { name: stage, running: false, restarts: 0, partitions: 0, handled: 0, produced: 0, rate_per_s: null, lag: null, dead_letters: 0 };
    if (name === "alpha_panda_stage_running") s.running = value === 1;
    if (name === "alpha_panda_stage_restarts_total") s.restarts = value;
    if (name === "alpha_panda_stage_partitions") s.partitions = value;
    if (name === "alpha_panda_stage_events_handled_total") s.handled = value;
    if (name === "alpha_panda_stage_events_produced_total") s.produced = value;
    if (name === "alpha_panda_stage_dead_letters_total") s.dead_letters = value;
    stages.set(stage, s);
  }
  for (const s of stages.values()) {
    const before = previous?.stages.find((p) => p.name === s.name);
    if (before && elapsedMs > 0) s.rate_per_s = Math.max(0, ((s.handled - before.handled) * 1000) / elapsedMs);
  }
  const p50 = quantiles.get("0.5");
  const p99 = quantiles.get("0.99");
  return { stages: [...stages.values()], tick_to_fill_ms: p50 === undefined || p99 === undefined ? null : { p50, p99, count }, dlq: [] };
}
