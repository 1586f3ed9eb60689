/**
 * Shared types for `bun run bench` (scripts/bench/index.ts).
 *
 * Every section module exports `run(opts: BenchOptions): Promise<BenchSection>`.
 * A section returns a flat record whose keys are the dotted paths used in
 * bench-results.json (e.g. "api.get_portfolio_rps", "api.get_portfolio_ms.p99");
 * the runner nests them. A metric that could not be measured is `null`.
 */
export interface BenchOptions {
  /** `--long`: sustained-load runs (5 minutes for memory). */
  long: boolean;
  /** Kafka bootstrap servers, e.g. "127.0.0.1:19092". */
  kafkaBrokers: string;
  /** Redis URL, e.g. "redis://127.0.0.1:16379". */
  redisUrl: string;
  /** PostgreSQL URL of the infra database (sections create their own schema). */
  databaseUrl: string;
  /** Directory for scratch files (logs, profiles); created by the runner. */
  outDir: string;
  /** `--modes`: the modes the ingest and pipeline sections run (default: embedded and kafka). */
  modes?: readonly string[];
  /** What the sections before this one measured in this run (the backtest compares with the pipeline's). */
  measured?: Readonly<Record<string, number | null>>;
  /** Progress output (one line, no trailing newline). */
  log: (line: string) => void;
}

/** Dotted metric key → number, or null when not measured. */
export type BenchSection = Record<string, number | null>;

/** A section module. */
export interface BenchModule {
  run(opts: BenchOptions): Promise<BenchSection>;
}
