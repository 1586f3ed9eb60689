/**
 * The backtest: the live stages over a file (src/backtest/engine.ts), its outputs and report.
 *
 * @example
 * const r = await runBacktest({ file: "today.jsonl", out: "./backtest-out" });
 * r.report.total.fills;
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import pino from "pino";
import postgres from "postgres";
import { MemoryCache } from "../cache/memory.ts";
import { loadConfig, type MarketHours } from "../config.ts";
import { MemoryBroker, MemoryLog } from "../log/memory.ts";
import type { Logger } from "../logger.ts";
import { readInstruments, upsertInstruments } from "../market/master.ts";
import { instrumentMaster, type Instrument } from "../market/instruments.ts";
import { toRupees } from "../money.ts";
import { DEFAULT_LIMITS, limitsAtEdge, type RiskLimits } from "../risk/limits.ts";
import { sqlDb } from "../store/db.ts";
import { overPort } from "../store/pglite-port.ts";
import { openStore, type Store } from "../store/index.ts";
import type { StrategyInput } from "../store/strategies.ts";
import { topicSpecs } from "../topics.ts";
import { buildPipeline } from "./engine.ts";
import { reportHtml } from "./html.ts";
import { BacktestInputError, parseInput, type InputTick } from "./input.ts";
import { readCash, readLimits, readStrategies } from "./options.ts";
import { Results } from "./results.ts";
import { seedControls } from "./seed.ts";

export { BacktestInputError, parseInput, type InputTick, type BacktestInput } from "./input.ts";
export { parseArgs, USAGE } from "./options.ts";
export { seedControls } from "./seed.ts";

/** The default starting cash: the gateway's (STARTING_CASH's default), ₹10,00,000. */
const DEFAULT_CASH = loadConfig({}).startingCash;

export interface BacktestOptions {
  /** The input file (its name goes in the report; its content, or `ticks`, is what runs). */
  file: string;
  /** Ticks already made (the bench); without them `file` is read and parsed. */
  ticks?: InputTick[];
  /** Where the outputs go; undefined writes nothing (the bench). */
  out?: string;
  strategiesFile?: string;
  limitsFile?: string;
  /** Rupees. */
  cash?: string;
  instrument?: string;
  /**
   * nse: the stages enforce the exchange's hours and the day's end (MIS positions squared off at
   * 15:20 IST of each day, by the file's time), as MARKET_HOURS=nse does live. Default off, so a
   * backtest of a file's ticks is judged as before.
   */
  marketHours?: MarketHours;
  /** Given directly (the bench), instead of a file. */
  strategies?: StrategyInput[];
  /** Instruments added to the master (the sample's) before the run (the bench's synthetic ones). */
  instruments?: Instrument[];
  limits?: RiskLimits;
  /** Called every ~100 ms of wall time with ticks done, of `total`. */
  progress?: (done: number, total: number, elapsedMs: number) => void;
  /** Where the stages' warnings go (default: stderr, level warn). */
  logger?: Logger;
}

export interface BacktestResult {
  report: Record<string, unknown> & { total: Record<string, unknown>; strategies: Record<string, Record<string, unknown>>; run: Record<string, unknown> };
  results: Results;
  /** The files written, by name. */
  files: Record<string, string>;
}

/**
 * Runs a backtest. Bad input (the file, a format error with its line, the strategies, limits or
 * cash) throws a BacktestInputError before anything is written.
 */
export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  // Everything that can be checked without the store first: a bad file stops at once.
  const strategies = options.strategies ?? (options.strategiesFile !== undefined ? readStrategies(options.strategiesFile) : undefined);
  const limits = options.limits ?? (options.limitsFile !== undefined ? readLimits(options.limitsFile) : undefined);
  const cash = options.cash !== undefined ? readCash(options.cash) : DEFAULT_CASH;
  let text: string | undefined;
  if (!options.ticks) {
    try {
      text = readFileSync(resolve(options.file), "utf8");
    } catch (err) {
      throw new BacktestInputError(`${options.file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  const logger = options.logger ?? (pino({ level: "warn", base: { service: "alpha-panda", stage: "backtest" } }, pino.destination(2)) as Logger);

  // A fresh embedded database, in memory, with the migrations (and their seeds) applied.
  const store: Store = await openStore({});
  const log = new MemoryLog(new MemoryBroker({ maxMessagesPerPartition: 1_000_000 }));
  // The stages' own connection, over a port to PGlite's thread, as a stage worker's is
  // (src/stage/context.ts): a statement's round trip is shorter than over the socket.
  const stageSql = postgres({ ...store.embeddedOptions!, onnotice: () => {}, ...overPort(store.embeddedConnector!()) });
  try {
    const db = sqlDb(store.sql);
    if (options.instruments) {
      await readInstruments(db); // the sample first, as a fresh gateway has it
      await upsertInstruments(db, options.instruments);
    }
    const master = instrumentMaster(await readInstruments(db));
    const input = options.ticks ? { format: "given" as const, digest: "", ticks: options.ticks } : parseInput(text!, options.file, master, { instrument: options.instrument });
    const marketHours = options.marketHours ?? "off";
    const config = loadConfig({ DATA_DIR: "memory", LOG_LEVEL: "warn", STARTING_CASH: toRupees(cash), MARKET_HOURS: marketHours });
    await log.createTopics(topicSpecs(config.activeBrokers));
    const seeder = log.producer();
    const running = await seedControls(store.sql, seeder, config.activeBrokers, { strategies, limits });
    await seeder.close();
    const cache = new MemoryCache({ maxKeys: 1_000_000 });
    const pipeline = await buildPipeline({ config, logger, log, db: sqlDb(stageSql), cache, instruments: master });
    const results = new Results(cash, running, master);
    const setupMs = performance.now() - t0;

    const total = input.ticks.length;
    const t1 = performance.now();
    let shownAt = 0;
    await pipeline.run(
      input.ticks,
      results,
      options.progress &&
        ((done) => {
          if ((done & 1023) !== 0 && done !== total) return;
          const now = performance.now();
          if (now - shownAt < 100 && done !== total) return;
          shownAt = now;
          options.progress!(done, total, now - t1);
        }),
    );
    results.finish();
    const runMs = performance.now() - t1;

    const report = {
      input: { file: basename(options.file), format: input.format, sha256: input.digest, ticks: results.ticks, first_ts: iso(results.firstAt), last_ts: iso(results.lastAt) },
      settings: {
        starting_cash: toRupees(cash),
        market_hours: marketHours,
        limits: limitsAtEdge(limits ?? DEFAULT_LIMITS),
        limits_source: limits ? "--limits" : "defaults",
        strategies: running.map((s) => ({ id: s.id, kind: s.kind, params: s.params, instruments: s.instruments, brokers: s.brokers })),
        strategies_source: strategies ? "--strategies" : "the embedded gateway's seeds",
      },
      total: results.summary(),
      strategies: Object.fromEntries([...results.books.keys()].map((id) => [id, results.summary(id)])),
      run: {
        started_at: startedAt.toISOString(),
        setup_s: round3(setupMs / 1000),
        elapsed_s: round3(runMs / 1000),
        ticks_per_s: runMs > 0 ? Math.round((total / runMs) * 1000) : null,
        bun: Bun.version,
      },
    };

    const files: Record<string, string> = {};
    if (options.out !== undefined) {
      const out = resolve(options.out);
      mkdirSync(out, { recursive: true });
      const write = (name: string, body: string) => {
        writeFileSync(join(out, name), body);
        files[name] = join(out, name);
      };
      write("fills.jsonl", results.fillsJsonl());
      write("orders.jsonl", results.ordersJsonl());
      write("equity.csv", results.equityCsv());
      write("report.json", JSON.stringify(report, null, 2) + "\n");
      // The page shows the deterministic part only: no wall time in any file but report.json's run.
      const { run: _run, ...shown } = report;
      write("report.html", reportHtml(basename(options.file), shown, results.chart));
    }
    return { report, results, files };
  } finally {
    await log.close();
    await stageSql.end({ timeout: 5 });
    await store.close();
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const round3 = (x: number) => Math.round(x * 1000) / 1000;
