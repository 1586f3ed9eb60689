/**
 * `bun run backtest FILE [--out DIR] [--strategies FILE] [--limits FILE] [--cash RUPEES]
 * [--instrument NAME] [--market-hours nse|off]`: the arguments, and the files they name, checked before anything runs.
 * Every problem is a BacktestInputError (the CLI exits 2 with it).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseLimitsAtEdge, RiskLimitsError, type RiskLimits } from "../risk/limits.ts";
import type { StrategyInput } from "../store/strategies.ts";
import { StrategyConfigError, compileRow, type StrategyRow } from "../strategies/index.ts";
import { toPaise } from "../money.ts";
import { MARKET_HOURS, type MarketHours } from "../config.ts";
import { BacktestInputError } from "./input.ts";

export interface BacktestArgs {
  file: string;
  out: string;
  strategiesFile?: string;
  limitsFile?: string;
  /** Rupees, as given. */
  cash?: string;
  instrument?: string;
  /** nse: the exchange's hours and the day's end (the MIS square-off) by the file's time; default off. */
  marketHours?: MarketHours;
}

export const USAGE = "bun run backtest FILE [--out DIR] [--strategies FILE] [--limits FILE] [--cash RUPEES] [--instrument TOKEN|SYMBOL] [--market-hours nse|off]";

/** @example parseArgs(["today.jsonl", "--out", "bt"]) */
export function parseArgs(argv: readonly string[]): BacktestArgs {
  const flags: Record<string, string> = {};
  const files: string[] = [];
  const known = ["--out", "--strategies", "--limits", "--cash", "--instrument", "--market-hours"];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--")) {
      const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
      if (!known.includes(name)) throw new BacktestInputError(`unknown option ${name}; usage: ${USAGE}`);
      const value = inline ?? argv[++i];
      if (value === undefined || value === "") throw new BacktestInputError(`${name} needs a value; usage: ${USAGE}`);
      flags[name] = value;
    } else files.push(a);
  }
  if (files.length !== 1) throw new BacktestInputError(`${files.length === 0 ? "no input file" : `one input file, got ${files.length}`}; usage: ${USAGE}`);
  const hours = flags["--market-hours"]?.toLowerCase();
  if (hours !== undefined && !(MARKET_HOURS as readonly string[]).includes(hours)) throw new BacktestInputError(`--market-hours must be one of ${MARKET_HOURS.join(", ")}, got ${JSON.stringify(flags["--market-hours"])}`);
  return {
    file: files[0]!,
    out: flags["--out"] ?? "./backtest-out",
    strategiesFile: flags["--strategies"],
    limitsFile: flags["--limits"],
    cash: flags["--cash"],
    instrument: flags["--instrument"],
    ...(hours !== undefined ? { marketHours: hours as MarketHours } : {}),
  };
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(path), "utf8");
  } catch (err) {
    throw new BacktestInputError(`${what} ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BacktestInputError(`${what} ${path}: not JSON (${(err as Error).message})`);
  }
}

/**
 * The strategies of a `--strategies` file: a JSON array in the API's shape (id, kind, params,
 * instruments, brokers, enabled; brokers default ["paper"], enabled true, params {}, instruments
 * []), each checked as the strategy stage checks a row.
 */
export function readStrategies(path: string): StrategyInput[] {
  const raw = readJson(path, "--strategies");
  if (!Array.isArray(raw)) throw new BacktestInputError(`--strategies ${path}: must be a JSON array of strategies`);
  const seen = new Set<string>();
  const problems: string[] = [];
  const rows: StrategyInput[] = raw.map((r: unknown, i) => {
    const fields = (typeof r === "object" && r !== null && !Array.isArray(r) ? r : {}) as Record<string, unknown>;
    const row = { id: fields.id, kind: fields.kind, params: fields.params ?? {}, instruments: fields.instruments ?? [], brokers: fields.brokers ?? ["paper"], enabled: fields.enabled ?? true } as StrategyRow;
    const unknown = Object.keys(fields).filter((k) => !["id", "kind", "params", "instruments", "brokers", "enabled"].includes(k));
    if (unknown.length > 0) problems.push(`[${i}]: unknown field${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`);
    try {
      compileRow(row);
    } catch (err) {
      if (!(err instanceof StrategyConfigError)) throw err;
      problems.push(...err.problems.map((p) => `[${i}]${p.path ? `.${p.path}` : ""}: ${p.message}`));
    }
    // The backtest trades the paper exchange: a strategy only for zerodha would make nothing.
    if (Array.isArray(row.brokers) && !row.brokers.includes("paper")) problems.push(`[${i}].brokers: the backtest runs the paper broker only; include "paper"`);
    if (typeof row.id === "string") {
      if (seen.has(row.id)) problems.push(`[${i}].id: ${row.id} appears twice`);
      seen.add(row.id);
    }
    return row as unknown as StrategyInput;
  });
  if (problems.length > 0) throw new BacktestInputError(`--strategies ${path}: ${problems.length} problem${problems.length > 1 ? "s" : ""}:\n  - ${problems.join("\n  - ")}`);
  return rows;
}

/** `--limits`: a JSON object of limits over the defaults, validated as the API does. */
export function readLimits(path: string): RiskLimits {
  const raw = readJson(path, "--limits");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new BacktestInputError(`--limits ${path}: must be a JSON object of limits`);
  try {
    return parseLimitsAtEdge(raw as Record<string, unknown>);
  } catch (err) {
    if (err instanceof RiskLimitsError) throw new BacktestInputError(`--limits ${path}: ${err.message}`);
    throw err;
  }
}

/** `--cash`: rupees with at most 2 decimals, exact paise. */
export function readCash(rupees: string): number {
  let paise: number;
  try {
    paise = toPaise(rupees);
  } catch {
    throw new BacktestInputError(`--cash: ${JSON.stringify(rupees)} is not an amount in rupees with at most 2 decimals (e.g. 1000000.00)`);
  }
  if (paise < 0) throw new BacktestInputError(`--cash: must not be negative, got ${rupees}`);
  return paise;
}
