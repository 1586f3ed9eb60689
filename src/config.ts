/**
 * Every setting, in one zod schema, read from the environment once at start. A bad or missing
 * value is reported with every other problem in one {@link ConfigError}, naming each bad value
 * (with passwords masked). Secrets never reach a log: use {@link redactedConfig}.
 */
import { resolve } from "node:path";
import { z } from "zod";
import { appendableFile, calendarFile, folderOrMemory, hostPorts, int, listOf, maskSecret, oneOf, optionalText, optionalUrl, rupees, secret, speed, timeOfDay } from "./config-fields.ts";
import { ConfigError, type Problem } from "./errors.ts";
import { kafkaProducerFields, openAlgoFields, openAlgoOf, openAlgoProblems, producerTuningOf, type OpenAlgoEventsConfig, type ProducerTuning } from "./config-kafka.ts";
import { topicIdOf } from "./topics.ts";

/** DATA_DIR's default: the embedded database's files, relative to the working directory. */
export const DEFAULT_DATA_DIR = "./.alpha-panda";

export const BROKERS = ["paper", "zerodha"] as const;
export type Broker = (typeof BROKERS)[number];

export const FEEDS = ["simulated", "replay", "kite", "none"] as const;
export type FeedKind = (typeof FEEDS)[number];

/** Which exchange hours orders are held to: NSE/BSE equity sessions and holidays, or none. */
export const MARKET_HOURS = ["nse", "off"] as const;
export type MarketHours = (typeof MARKET_HOURS)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * Kafka group defaults: a gateway process that dies is noticed when its session expires, and its
 * partitions move to the survivors one heartbeat and one rejoin later: 6 s + 1 s + the rejoin,
 * about 7-8 s, inside the 10 s fail-over bound. 6 s is the brokers' default floor
 * (group.min.session.timeout.ms, Kafka and Redpanda); a heartbeat a third of it or less leaves
 * room for two lost ones before a live member is dropped.
 */
export const KAFKA_SESSION_TIMEOUT_DEFAULT_MS = 6_000;
export const KAFKA_HEARTBEAT_INTERVAL_DEFAULT_MS = 1_000;
/** How long a stage's batch may be in hand before its worker is restarted (STAGE_HANDLER_TIMEOUT_MS). */
export const STAGE_HANDLER_TIMEOUT_DEFAULT_MS = 10_000;

export const configSchema = z.object({
  PORT: int("a port number", 8080, 0, 65535),
  HOST: z.string().optional().transform((v) => (v && v.trim()) || "127.0.0.1"),
  ACTIVE_BROKERS: listOf(BROKERS, ["paper"], "broker"),
  KAFKA_BROKERS: hostPorts(),
  REDIS_URL: optionalUrl(["redis:", "rediss:"], "redis://127.0.0.1:6379"),
  DATABASE_URL: optionalUrl(["postgres:", "postgresql:"], "postgres://user:pass@127.0.0.1:5432/db"),
  // Embedded only: "memory" keeps nothing across a restart (tests); anything else is a folder.
  DATA_DIR: folderOrMemory(DEFAULT_DATA_DIR),
  FEED: oneOf(FEEDS, "simulated"),
  FEED_SEED: int("a seed", 42, 0, 2 ** 31 - 1),
  FEED_INTERVAL_MS: int("an interval in ms", 250, 1, 60_000),
  REPLAY_FILE: z.string().optional(),
  REPLAY_SPEED: speed(1),
  RECORD_FILE: appendableFile(),
  LOG_LEVEL: oneOf(LOG_LEVELS, "info"),
  BOOTSTRAP_API_KEY: secret(),
  KITE_API_KEY: optionalText(),
  KITE_API_SECRET: optionalText(),
  KITE_ACCESS_TOKEN: optionalText(),
  KITE_BASE_URL: optionalUrl(["https:", "http:"], "https://api.kite.trade").transform((v) => v ?? "https://api.kite.trade"),
  KITE_TICKER_URL: optionalUrl(["wss:", "ws:"], "wss://ws.kite.trade").transform((v) => v ?? "wss://ws.kite.trade"),
  KITE_TICKER_MODE: oneOf(["ltp", "quote", "full"] as const, "full"),
  KITE_ORDERS_PER_SECOND: int("a rate", 10, 1, 1_000),
  KITE_ORDERS_PER_MINUTE: int("a rate", 200, 1, 60_000),
  STARTING_CASH: rupees(100_000_000),
  KAFKA_CLIENT_ID: z.string().optional().transform((v) => v || "alpha-panda"),
  KAFKA_SESSION_TIMEOUT_MS: int("a timeout in ms", KAFKA_SESSION_TIMEOUT_DEFAULT_MS, 1_000, 600_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: int("an interval in ms", KAFKA_HEARTBEAT_INTERVAL_DEFAULT_MS, 100, 60_000),
  KAFKA_FETCH_MAX_WAIT_MS: int("a wait in ms", 100, 1, 10_000),
  SHUTDOWN_TIMEOUT_MS: int("a timeout in ms", 8_000, 100, 60_000),
  // The backoff doubles while a dependency stays down: the cap bounds how long after its return
  // the stage is back (the fault suite allows 10 s from a restart to orders filling again).
  WORKER_RESTART_MAX_MS: int("a delay in ms", 2_000, 10, 300_000),
  STAGE_HANDLER_TIMEOUT_MS: int("a timeout in ms", STAGE_HANDLER_TIMEOUT_DEFAULT_MS, 100, 600_000),
  // How long an accepted order may take to reach the log: past it the order is never sent and
  // ends FAILED SEND_TIMEOUT (30 s rides out a broker restart or a leader election, and an
  // order older than that was priced on a market that has moved).
  ORDER_SEND_TIMEOUT_MS: int("a timeout in ms", 30_000, 5_000, 3_600_000),
  // Empty: nse whenever real money or real prices are involved (zerodha active, or FEED=kite);
  // off otherwise, so the simulated feed gives a newcomer a live desk at any hour.
  MARKET_HOURS: z.string().optional(),
  // When intraday (MIS) positions are flattened and open MIS orders cancelled, IST (with MARKET_HOURS=nse).
  MIS_SQUARE_OFF_AT: timeOfDay("15:20"),
  // The holidays and special sessions the hours are judged by; empty: src/market/holidays.json.
  MARKET_CALENDAR_FILE: calendarFile(),
  // Requests per second and burst per API key (per client IP without a valid key); 0 turns a
  // budget off. A person at a desk stays far below them; a script in a loop does not.
  RATE_LIMIT_READS_PER_S: int("a rate per second", 100, 0, 1_000_000),
  RATE_LIMIT_READS_BURST: int("a burst", 200, 0, 10_000_000),
  RATE_LIMIT_WRITES_PER_S: int("a rate per second", 20, 0, 1_000_000),
  RATE_LIMIT_WRITES_BURST: int("a burst", 40, 0, 10_000_000),
  // POST /ticks, an external feed's door: up to 1000 ticks a request, its own budget.
  RATE_LIMIT_TICKS_PER_S: int("a rate per second", 1_000, 0, 1_000_000),
  RATE_LIMIT_TICKS_BURST: int("a burst", 2_000, 0, 10_000_000),
  ...kafkaProducerFields,
  ...openAlgoFields,
});

export type Env = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;

/** The validated configuration, in the shape the code uses. */
export interface Config {
  port: number;
  host: string;
  activeBrokers: Broker[];
  kafka?: {
    brokers: string[];
    clientId: string;
    sessionTimeoutMs: number;
    heartbeatIntervalMs: number;
    fetchMaxWaitMs: number;
    /** How every producer sends (KAFKA_PRODUCER_*). */
    producer: ProducerTuning;
  };
  /** The OpenAlgo order-event bridge (OPENALGO_*): src/openalgo-events. */
  openAlgo: OpenAlgoEventsConfig;
  redisUrl?: string;
  databaseUrl?: string;
  /**
   * Embedded only (no DATABASE_URL): the absolute folder PGlite keeps its files in, so a crash
   * loses nothing committed; undefined (DATA_DIR=memory) keeps the database in memory.
   */
  dataDir?: string;
  feed: { kind: FeedKind; seed: number; intervalMs: number; replayFile?: string; replaySpeed: number };
  /** Absolute path every tick published to market.ticks is appended to, in the replay format. */
  recordFile?: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Kite Connect, when zerodha is active or FEED=kite (secrets: never logged). */
  kite?: {
    apiKey: string;
    apiSecret: string;
    /** From KITE_ACCESS_TOKEN, or else the session stored by `bun run kite:session`. */
    accessToken?: string;
    baseUrl: string;
    tickerUrl: string;
    tickerMode: "ltp" | "quote" | "full";
    ordersPerSecond: number;
    ordersPerMinute: number;
  };
  /** Registered as a `trade` API key at start (a secret: never logged). */
  bootstrapApiKey?: string;
  /** Each broker portfolio's starting cash, paise. */
  startingCash: number;
  shutdownTimeoutMs: number;
  workerRestartMaxMs: number;
  /** A stage batch still in hand after this long is a transient failure: its worker is restarted. */
  stageHandlerTimeoutMs: number;
  /** An accepted order not sent to the log within this ends FAILED SEND_TIMEOUT, never sent. */
  orderSendTimeoutMs: number;
  /** nse: orders outside the exchange's sessions are refused MARKET_CLOSED (unless AMO) and MIS is squared off. */
  marketHours: MarketHours;
  /** When MIS positions are squared off: minutes after midnight IST (15:20 → 920). */
  misSquareOffMinute: number;
  /** The exchange calendar file (src/market/calendar.ts); undefined: the shipped src/market/holidays.json. */
  marketCalendarFile: string | undefined;
  /** Request budgets per API key (or client IP): reads (GET, WebSocket connects), writes, ticks (POST /ticks); perSecond 0 = off. */
  rateLimits: Record<RateBudget, { perSecond: number; burst: number }>;
}

/** The request budgets of the rate limiter (gateway/api/rate-limit.ts). */
export const RATE_BUDGETS = ["reads", "writes", "ticks"] as const;
export type RateBudget = (typeof RATE_BUDGETS)[number];

/** "embedded" when no external service is configured. */
export const modeOf = (config: Config): "embedded" | "distributed" =>
  config.kafka || config.redisUrl || config.databaseUrl ? "distributed" : "embedded";

/**
 * Reads and validates the configuration; throws one ConfigError listing every problem.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const known = Object.fromEntries(Object.keys(configSchema.shape).map((k) => [k, env[k]]));
  const result = configSchema.safeParse(known);
  const problems: Problem[] = result.success
    ? []
    : result.error.issues.map((i) => ({ path: i.path.join(".") || "config", message: i.message }));
  // Checks across fields run even when a single field failed, so one run reports everything.
  if (env.FEED?.trim().toLowerCase() === "replay" && !env.REPLAY_FILE) {
    problems.push({ path: "REPLAY_FILE", message: "is required when FEED=replay" });
  }
  // Replaying a file while appending to it would replay the session into itself.
  const recordFile = configSchema.shape.RECORD_FILE.safeParse(known.RECORD_FILE);
  if (recordFile.success && recordFile.data && env.REPLAY_FILE?.trim() && resolve(env.REPLAY_FILE.trim()) === recordFile.data) {
    problems.push({ path: "RECORD_FILE", message: `must not be REPLAY_FILE (${JSON.stringify(env.REPLAY_FILE)}): record to another file` });
  }
  // Two heartbeats may be lost before a live member's session expires. Checked whenever both
  // values are valid, whatever else is wrong, so one run reports everything.
  const session = configSchema.shape.KAFKA_SESSION_TIMEOUT_MS.safeParse(known.KAFKA_SESSION_TIMEOUT_MS);
  const heartbeat = configSchema.shape.KAFKA_HEARTBEAT_INTERVAL_MS.safeParse(known.KAFKA_HEARTBEAT_INTERVAL_MS);
  if (session.success && heartbeat.success && heartbeat.data * 3 > session.data) {
    problems.push({ path: "KAFKA_HEARTBEAT_INTERVAL_MS", message: `must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${session.data}), got ${heartbeat.data}` });
  }
  // zerodha (or the Kite feed) without its credentials stops the start: never a quiet fallback.
  const brokers = (env.ACTIVE_BROKERS ?? "").toLowerCase().split(",").map((b) => b.trim());
  const needsKite: string[] = [];
  if (brokers.includes("zerodha")) needsKite.push("ACTIVE_BROKERS includes zerodha");
  if (env.FEED?.trim().toLowerCase() === "kite") needsKite.push("FEED=kite");
  if (needsKite.length > 0) {
    // The access token may also come from the session `bun run kite:session` stored in
    // PostgreSQL; the gateway checks for one at start (gateway/runtime.ts) and stops without it.
    const missing = (["KITE_API_KEY", "KITE_API_SECRET"] as const).filter((k) => !env[k]?.trim());
    for (const k of missing) problems.push({ path: k, message: `is required because ${needsKite.join(" and ")} (from your Kite Connect app)` });
  }
  const hoursText = env.MARKET_HOURS?.trim().toLowerCase();
  const marketHours: MarketHours = hoursText ? (hoursText as MarketHours) : needsKite.length > 0 ? "nse" : "off";
  for (const budget of RATE_BUDGETS) {
    const name = budget.toUpperCase();
    const rate = configSchema.shape[`RATE_LIMIT_${name}_PER_S` as "RATE_LIMIT_READS_PER_S"].safeParse(known[`RATE_LIMIT_${name}_PER_S`]);
    const burst = configSchema.shape[`RATE_LIMIT_${name}_BURST` as "RATE_LIMIT_READS_BURST"].safeParse(known[`RATE_LIMIT_${name}_BURST`]);
    if (rate.success && burst.success && rate.data > 0 && burst.data < 1) {
      problems.push({ path: `RATE_LIMIT_${name}_BURST`, message: `must be at least 1 while RATE_LIMIT_${name}_PER_S is ${rate.data} (set the rate to 0 to turn the ${budget} budget off)` });
    }
  }
  const events = configSchema.shape.OPENALGO_EVENTS_TOPIC.safeParse(known.OPENALGO_EVENTS_TOPIC);
  const source = configSchema.shape.OPENALGO_SOURCE_TOPIC.safeParse(known.OPENALGO_SOURCE_TOPIC);
  if (events.success && source.success) problems.push(...openAlgoProblems(events.data, source.data, (name) => topicIdOf(name) !== undefined));
  if (!MARKET_HOURS.includes(marketHours)) problems.push({ path: "MARKET_HOURS", message: `must be one of ${MARKET_HOURS.join(", ")}, got ${JSON.stringify(env.MARKET_HOURS)}` });
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const parsed: Parsed = result.data;
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    activeBrokers: parsed.ACTIVE_BROKERS,
    kafka: parsed.KAFKA_BROKERS && {
      brokers: parsed.KAFKA_BROKERS,
      clientId: parsed.KAFKA_CLIENT_ID,
      sessionTimeoutMs: parsed.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: parsed.KAFKA_HEARTBEAT_INTERVAL_MS,
      fetchMaxWaitMs: parsed.KAFKA_FETCH_MAX_WAIT_MS,
      producer: producerTuningOf(parsed),
    },
    openAlgo: openAlgoOf(parsed),
    redisUrl: parsed.REDIS_URL,
    databaseUrl: parsed.DATABASE_URL,
    dataDir: parsed.DATA_DIR,
    feed: { kind: parsed.FEED, seed: parsed.FEED_SEED, intervalMs: parsed.FEED_INTERVAL_MS, replayFile: parsed.REPLAY_FILE, replaySpeed: parsed.REPLAY_SPEED },
    recordFile: parsed.RECORD_FILE,
    logLevel: parsed.LOG_LEVEL,
    startingCash: parsed.STARTING_CASH,
    bootstrapApiKey: parsed.BOOTSTRAP_API_KEY,
    kite:
      parsed.KITE_API_KEY && parsed.KITE_API_SECRET
        ? {
            apiKey: parsed.KITE_API_KEY,
            apiSecret: parsed.KITE_API_SECRET,
            accessToken: parsed.KITE_ACCESS_TOKEN,
            baseUrl: parsed.KITE_BASE_URL,
            tickerUrl: parsed.KITE_TICKER_URL,
            tickerMode: parsed.KITE_TICKER_MODE,
            ordersPerSecond: parsed.KITE_ORDERS_PER_SECOND,
            ordersPerMinute: parsed.KITE_ORDERS_PER_MINUTE,
          }
        : undefined,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    workerRestartMaxMs: parsed.WORKER_RESTART_MAX_MS,
    stageHandlerTimeoutMs: parsed.STAGE_HANDLER_TIMEOUT_MS,
    orderSendTimeoutMs: parsed.ORDER_SEND_TIMEOUT_MS,
    marketHours,
    misSquareOffMinute: parsed.MIS_SQUARE_OFF_AT,
    marketCalendarFile: parsed.MARKET_CALENDAR_FILE,
    rateLimits: {
      reads: { perSecond: parsed.RATE_LIMIT_READS_PER_S, burst: parsed.RATE_LIMIT_READS_BURST },
      writes: { perSecond: parsed.RATE_LIMIT_WRITES_PER_S, burst: parsed.RATE_LIMIT_WRITES_BURST },
      ticks: { perSecond: parsed.RATE_LIMIT_TICKS_PER_S, burst: parsed.RATE_LIMIT_TICKS_BURST },
    },
  };
}

/** The configuration with every secret masked, fit for a log line. */
export function redactedConfig(config: Config): Config {
  return {
    ...config,
    redisUrl: config.redisUrl && maskSecret(config.redisUrl),
    databaseUrl: config.databaseUrl && maskSecret(config.databaseUrl),
    bootstrapApiKey: config.bootstrapApiKey && "***",
    kite: config.kite && { ...config.kite, apiSecret: "***", accessToken: config.kite.accessToken && "***" },
  };
}
