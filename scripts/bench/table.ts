/**
 * The bench's targets and the table `bun run bench` prints (and docs/benchmarks.md shows).
 */

export interface Target {
  key: string;
  label: string;
  /** What "met" means. */
  op: ">=" | "<=";
  value: number;
  unit: string;
  /** A metric of the same run the target is relative to: met when value op `value` × reference. */
  reference?: string;
  /** A floor measured in the same run, shown beside an absolute target with value / floor. */
  floor?: string;
}

/** Issue 36: tick → fill at every rate within 1.5× (p50) and 3× (p99) its mode's four-hop floor (scripts/bench/rates.ts). */
const RATE_TARGETS: Target[] = (["embedded", "kafka"] as const).flatMap((mode) =>
  [5_000, 1_000, 100].flatMap((rate) => [
    { key: `${mode}.tick_to_fill_ms.at_${rate}.p50`, label: `${mode} tick → fill p50 @${rate}/s`, op: "<=" as const, value: 1.5, unit: "× floor", reference: `${mode}.floor4_ms.p50` },
    { key: `${mode}.tick_to_fill_ms.at_${rate}.p99`, label: `${mode} tick → fill p99 @${rate}/s`, op: "<=" as const, value: 3, unit: "× floor", reference: `${mode}.floor4_ms.p99` },
  ]),
);

/** The targets the table checks; the ratio one is computed by the runner (kafka.ingest_vs_producer_perf). */
export const TARGETS: Target[] = [
  { key: "embedded.pipeline_ticks_per_s", label: "embedded pipeline", op: ">=", value: 100_000, unit: "ticks/s" },
  { key: "kafka.pipeline_ticks_per_s", label: "Kafka pipeline", op: ">=", value: 50_000, unit: "ticks/s" },
  { key: "embedded.tick_to_fill_ms.p99", label: "embedded tick → fill p99 @5k/s", op: "<=", value: 5, unit: "ms" },
  { key: "kafka.tick_to_fill_ms.p99", label: "Kafka tick → fill p99 @5k/s", op: "<=", value: 25, unit: "ms" },
  { key: "kafka.ingest_vs_producer_perf", label: "Kafka ingest / ProducerPerformance", op: ">=", value: 0.5, unit: "×" },
  { key: "api.get_portfolio_rps", label: "GET /portfolios/paper", op: ">=", value: 20_000, unit: "req/s" },
  { key: "memory.rss_growth_mb", label: "RSS growth (--long, 5 min)", op: "<=", value: 50, unit: "MB" },
  // Issue 31: the backtest against the embedded pipeline of the same run.
  { key: "backtest.vs_embedded_pipeline", label: "backtest / embedded pipeline ticks/s", op: ">=", value: 10, unit: "×" },
  ...RATE_TARGETS,
  // Issue 36, memory: idle RSS beside the floor of the same shape with nothing of ours running (scripts/bench/memory-floor.ts).
  { key: "memory.idle_mb.embedded", label: "embedded idle RSS", op: "<=", value: 250, unit: "MB", floor: "memory.floor_mb.embedded" },
  { key: "memory.idle_mb.distributed", label: "distributed idle RSS", op: "<=", value: 150, unit: "MB", floor: "memory.floor_mb.distributed" },
  // Issue 36, the order path: each beside its bare route's (reference.*) in SHOWN_FIRST.
  { key: "api.post_order_ms.at_100.p99", label: "embedded POST /orders p99 @100/s", op: "<=", value: 5, unit: "ms" },
  { key: "api.distributed.post_order_ms.at_100.p99", label: "distributed POST /orders p99 @100/s", op: "<=", value: 10, unit: "ms" },
  { key: "api.post_order_vs_bare_route", label: "embedded POST /orders rps / bare route's", op: ">=", value: 0.5, unit: "×" },
  { key: "api.distributed.post_order_vs_bare_route", label: "distributed POST /orders rps / bare route's", op: ">=", value: 0.5, unit: "×" },
];

/** Rows shown besides the targets, in this order; any other metric follows, sorted. */
const SHOWN_FIRST = [
  "embedded.ingest_ticks_per_s",
  "kafka.ingest_ticks_per_s",
  "kafka.ingest_producer_perf_records_per_s",
  "kafka.ingest_vs_producer_perf",
  "reference.kafka_producer_perf_records_per_s",
  "reference.ours_vs_producer_perf",
  "reference.kafkajs_produce_per_s",
  "embedded.pipeline_ticks_per_s",
  "kafka.pipeline_ticks_per_s",
  "backtest.ticks_per_s",
  "backtest.embedded_pipeline_ticks_per_s",
  "backtest.vs_embedded_pipeline",
  "backtest.nse_day_s",
  "embedded.tick_to_fill_ms.p50",
  "embedded.tick_to_fill_ms.p99",
  "kafka.tick_to_fill_ms.p50",
  "kafka.tick_to_fill_ms.p99",
  "reference.kafka_e2e_ms.p99",
  "reference.ours_e2e_ms.p99",
  "api.get_portfolio_rps",
  "api.post_order_rps",
  "reference.bare_order_route_rps",
  "reference.bare_order_statement_rps",
  "api.post_order_vs_bare_route",
  "api.post_order_halted_vs_bare_route",
  "api.post_order_ms.at_100.p50",
  "api.post_order_ms.at_100.p99",
  "reference.bare_order_route_ms.at_100.p99",
  "reference.bare_order_statement_ms.at_100.p99",
  "api.distributed.post_order_rps",
  "reference.distributed.bare_order_route_rps",
  "reference.distributed.bare_order_statement_rps",
  "api.distributed.post_order_vs_bare_route",
  "api.distributed.post_order_halted_vs_bare_route",
  "api.distributed.post_order_ms.at_100.p50",
  "api.distributed.post_order_ms.at_100.p99",
  "reference.distributed.bare_order_route_ms.at_100.p99",
  "reference.distributed.bare_order_statement_ms.at_100.p99",
  "ws.fanout_p99_ms",
  "memory.rss_idle_mb",
  "memory.rss_before_mb",
  "memory.rss_after_mb",
  "memory.rss_growth_mb",
  "memory.idle_mb.embedded_disk",
  ...(["embedded", "disk", "distributed"] as const).flatMap((m) => ["main", "database", "strategy", "risk", "execution", "portfolio"].map((t) => `memory.${m}.heap_mb.${t}`)),
];

export interface Row {
  metric: string;
  value: string;
  /** A relative target's reference (its metric and value), and value / reference. */
  reference: string;
  ratio: string;
  target: string;
  met: string;
}

const fmt = (v: number | null | undefined): string => {
  if (v === null || v === undefined) return "—";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 100) / 100);
};

/**
 * The rows: every target (met: yes / NO / — when not measured), then the headline metrics.
 * `all` adds every other metric measured.
 */
export function rows(metrics: Record<string, number | null>, all = false): Row[] {
  const byKey = new Map(TARGETS.map((t) => [t.key, t]));
  const keys = [...SHOWN_FIRST];
  for (const t of TARGETS) if (!keys.includes(t.key)) keys.push(t.key);
  if (all) for (const k of Object.keys(metrics).sort()) if (!keys.includes(k)) keys.push(k);
  return keys.map((k) => {
    const t = byKey.get(k);
    const v = metrics[k];
    const ref = t?.reference ? metrics[t.reference] : undefined;
    // A relative target compares value / reference; an absolute one the value itself.
    const compared = t?.reference ? (typeof v === "number" && typeof ref === "number" && ref > 0 ? v / ref : undefined) : v;
    const measured = compared !== null && compared !== undefined;
    const floor = t?.floor ? metrics[t.floor] : undefined;
    const beside = t?.reference ?? t?.floor;
    const besideValue = t?.reference ? ref : floor;
    const ratio = t?.reference ? compared : typeof v === "number" && typeof floor === "number" && floor > 0 ? v / floor : undefined;
    return {
      metric: k,
      value: fmt(v),
      reference: beside ? `${fmt(besideValue)} (${beside})` : "",
      ratio: beside && ratio !== undefined && ratio !== null ? `${fmt(ratio)}×` : "",
      target: t ? `${t.op} ${fmt(t.value)} ${t.unit}` : "",
      met: t ? (measured ? ((t.op === ">=" ? compared >= t.value : compared <= t.value) ? "yes" : "NO") : "—") : "",
    };
  });
}

/** A plain-text table (also valid Markdown). */
export function render(list: Row[]): string {
  const head: Row = { metric: "metric", value: "value", reference: "reference", ratio: "ratio", target: "target", met: "met?" };
  const cols = ["metric", "value", "reference", "ratio", "target", "met"] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...list].map((r) => r[c].length))])) as Record<(typeof cols)[number], number>;
  const line = (r: Row) => `| ${cols.map((c) => (c === "value" ? r[c].padStart(width[c]) : r[c].padEnd(width[c]))).join(" | ")} |`;
  const rule = `|${cols.map((c) => (c === "value" ? `${"-".repeat(width[c] + 1)}:` : "-".repeat(width[c] + 2))).join("|")}|`;
  return [line(head), rule, ...list.map(line)].join("\n");
}
