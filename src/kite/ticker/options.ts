/**
 * The ticker's settings: what may be set, the defaults, and their check at construction (one
 * ConfigError listing every problem, under kite.ticker.*).
 */
import { ConfigError, type Problem } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { MAX_INSTRUMENTS } from "./subscriptions.ts";

export interface KiteTickerOptions {
  apiKey: string;
  accessToken: string;
  /** Default wss://ws.kite.trade. */
  url?: string;
  /** Reconnect after a drop or a failed attempt (default true). */
  reconnect?: boolean;
  /** Consecutive failed attempts before giving up (default Infinity); a received frame resets it. */
  maxReconnectAttempts?: number;
  /** Backoff: first delay (default 500 ms), cap (default 30 s), growth (default 2), jitter (default false). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  backoffFactor?: number;
  jitter?: boolean;
  /** Keep retrying (with backoff) after a 401/403 handshake, e.g. while a new token is fetched. Default false. */
  retryOnTokenRejected?: boolean;
  /** No frame for this long means the connection is dead (default 5000; Kite sends a heartbeat every second). */
  watchdogMs?: number;
  /** The handshake must complete within this (default 10 000). */
  connectTimeoutMs?: number;
  /** At most this many instruments (default and maximum 3000, Kite's limit per connection). */
  maxInstruments?: number;
  log?: Logger;
}

/** The options with every default filled in. */
export type KiteTickerSettings = Required<Omit<KiteTickerOptions, "log">> & { log?: Logger };

const DEFAULTS = {
  url: "wss://ws.kite.trade",
  reconnect: true,
  maxReconnectAttempts: Infinity,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  backoffFactor: 2,
  jitter: false,
  retryOnTokenRejected: false,
  watchdogMs: 5_000,
  connectTimeoutMs: 10_000,
  maxInstruments: MAX_INSTRUMENTS,
};

/** The options with their defaults, checked; throws a ConfigError listing every problem. */
export function tickerSettings(options: KiteTickerOptions): KiteTickerSettings {
  const settings = { ...DEFAULTS, ...withoutUndefined(options) } as KiteTickerSettings;
  const problems: Problem[] = [];
  if (typeof settings.apiKey !== "string" || settings.apiKey.trim() === "") problems.push({ path: "apiKey", message: "is required" });
  if (typeof settings.accessToken !== "string" || settings.accessToken.trim() === "") problems.push({ path: "accessToken", message: "is required" });
  if (!/^wss?:\/\/[^?#\s]+$/.test(settings.url)) problems.push({ path: "url", message: `must be a ws:// or wss:// URL without a query, got ${JSON.stringify(settings.url)}` });
  const positive = ["initialDelayMs", "maxDelayMs", "watchdogMs", "connectTimeoutMs"] as const;
  for (const field of positive) if (!(Number.isInteger(settings[field]) && settings[field] > 0)) problems.push({ path: field, message: `must be a positive integer (ms), got ${settings[field]}` });
  if (Number.isInteger(settings.initialDelayMs) && settings.maxDelayMs < settings.initialDelayMs) problems.push({ path: "maxDelayMs", message: `must be ≥ initialDelayMs (${settings.initialDelayMs}), got ${settings.maxDelayMs}` });
  if (!(typeof settings.backoffFactor === "number" && settings.backoffFactor >= 1 && Number.isFinite(settings.backoffFactor))) problems.push({ path: "backoffFactor", message: `must be a number ≥ 1, got ${settings.backoffFactor}` });
  if (!(settings.maxReconnectAttempts === Infinity || (Number.isInteger(settings.maxReconnectAttempts) && settings.maxReconnectAttempts >= 0))) {
    problems.push({ path: "maxReconnectAttempts", message: `must be an integer ≥ 0 or Infinity, got ${settings.maxReconnectAttempts}` });
  }
  if (!(Number.isInteger(settings.maxInstruments) && settings.maxInstruments > 0 && settings.maxInstruments <= MAX_INSTRUMENTS)) {
    problems.push({ path: "maxInstruments", message: `must be an integer from 1 to ${MAX_INSTRUMENTS}, got ${settings.maxInstruments}` });
  }
  for (const field of ["reconnect", "jitter", "retryOnTokenRejected"] as const) if (typeof settings[field] !== "boolean") problems.push({ path: field, message: `must be true or false, got ${settings[field]}` });
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => ({ ...problem, path: `kite.ticker.${problem.path}` })));
  return settings;
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
