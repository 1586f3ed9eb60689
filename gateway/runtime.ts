/**
 * Starts and stops everything a gateway process runs: the log (Kafka, or the in-process log with
 * its topics), the store (PostgreSQL, or embedded PGlite) with its migrations, the cache (Redis,
 * or in memory), the stage workers, the market feed and the HTTP server. Importable, so tests run
 * a whole gateway in-process.
 */
import { MemoryCache, openCache } from "../src/cache/index.ts";
import { sqlDb } from "../src/store/db.ts";
import { loadCalendar } from "../src/market/calendar.ts";
import { instrumentMaster } from "../src/market/instruments.ts";
import { readInstruments } from "../src/market/master.ts";
import { loadAccessToken } from "../src/kite/rest/session.ts";
import { ConfigError } from "../src/errors.ts";
import { modeOf, type Config } from "../src/config.ts";
import { Journal, journalDir } from "../src/log/journal.ts";
import { MemoryBroker, MemoryLog } from "../src/log/memory.ts";
import { openLog } from "../src/log/index.ts";
import type { Logger } from "../src/logger.ts";
import type { Log } from "../src/log/port.ts";
import { Feed, recordTicks } from "../src/market/feed.ts";
import { TickRecorder } from "../src/market/recorder.ts";
import { prepareStageGroups } from "../src/stage/groups.ts";
import { STAGE_GROUP_BASES, STAGE_NAMES } from "../src/stage/stages.ts";
import { openStore } from "../src/store/index.ts";
import { journaled, topicSpecs } from "../src/topics.ts";
import { openAlgoTopicSpecs } from "../src/openalgo-events/topics.ts";
import { ApiKeys, createWsHandlers, limitUpgrades, mountApi, RateLimiter, registerBootstrapKey } from "./api/index.ts";
import { createApp } from "./app.ts";
import { devKey } from "./dev-key.ts";
import { KiteFeed, kiteGateway, mountPostbacks } from "./kite.ts";
import { createServices } from "./services/index.ts";
import { openAlgoMount } from "./openalgo/index.ts";
import { startControlPlane } from "./control.ts";
import { Supervisor } from "./supervisor.ts";
import { mountWebhooks } from "./webhooks/mount.ts";

export interface Gateway {
  url: string;
  port: number;
  /** The log this gateway runs on (embedded: the in-process log, for tests that read its topics). */
  log: Log;
  stop(): Promise<void>;
}

/**
 * @example
 * const gw = await startGateway(loadConfig(process.env), logger, process.env);
 * await gw.stop();
 */
export async function startGateway(config: Config, logger: Logger, env: Record<string, string | undefined>): Promise<Gateway> {
  const mode = modeOf(config);
  const started = Date.now();
  const cleanup: Array<() => Promise<void>> = [];
  try {
    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    cleanup.push(() => store.close());
    const dataDir = store.kind === "pglite" ? config.dataDir : undefined;
    logger.info({ kind: store.kind, url: store.url, ...(store.kind === "pglite" ? { data_dir: dataDir ?? "memory" } : {}) }, "store ready, migrations applied");

    // The store holds DATA_DIR's lock: the log's journal beside it is this process's alone.
    const journal = mode === "embedded" && dataDir !== undefined ? openJournal(dataDir, logger) : undefined;
    if (journal) cleanup.push(async () => journal.close());
    const log = journal ? new MemoryLog(new MemoryBroker({ journal })) : openLog(config);
    cleanup.push(() => log.close());
    // The OpenAlgo bridge's topics, when set, beside the table's (an existing one is left as it is).
    const specs = [...topicSpecs(config.activeBrokers), ...openAlgoTopicSpecs(config.openAlgo)];
    if (log instanceof MemoryLog) {
      const { created } = await log.createTopics(specs);
      logger.info({ topics: created.length }, "in-process log: topics created");
    } else {
      // With Kafka the topics are made by `bun run topics`; a missing one is named here.
      const existing = new Set((await log.listTopics()).map((t) => t.name));
      const missing = specs.map((s) => s.name).filter((n) => !existing.has(n));
      if (missing.length > 0) {
        const { created } = await log.createTopics(specs);
        logger.warn({ created }, "created missing topics (run `bun run topics` to create them ahead of time)");
      }
    }
    // Each broker set is its own group: refused beside a running overlapping one (src/stage/groups.ts).
    if (config.kafka) await prepareStageGroups({ log, brokers: config.activeBrokers, bases: STAGE_GROUP_BASES, waitMs: 2 * config.kafka.sessionTimeoutMs, logger });

    const masterStarted = performance.now();
    const instruments = instrumentMaster(await readInstruments(sqlDb(store.sql)));
    const masterLoad = { symbols: instruments.all().length, seconds: Math.round(performance.now() - masterStarted) / 1000 };
    if (config.kite && !config.kite.accessToken) {
      // No KITE_ACCESS_TOKEN: the session `bun run kite:session` stored, or no start at all.
      const stored = await loadAccessToken(store.sql, config.kite.apiKey);
      if (!stored) {
        throw new ConfigError([{ path: "KITE_ACCESS_TOKEN", message: `is not set and no Kite session is stored for KITE_API_KEY ${config.kite.apiKey}: log in to Kite, then run \`bun run kite:session <request_token>\`` }]);
      }
      config.kite.accessToken = stored.access_token;
      // Workers read their settings from this environment: they get the same token.
      env = { ...env, KITE_ACCESS_TOKEN: stored.access_token };
      logger.info({ user_id: stored.user_id }, "using the stored Kite session");
    }
    logger.info({ instruments: instruments.all().length }, "instrument master loaded");
    if (config.marketHours === "nse") {
      const now = loadCalendar(config.marketCalendarFile).sessionAt("NSE", Date.now());
      logger.info({ calendar: config.marketCalendarFile ?? "src/market/holidays.json", now: now.phase, why: now.why, next_open: now.next_open.ist }, "market hours enforced (MARKET_HOURS=nse)");
      // A year without its holiday list would take orders on its holidays: say so at every start.
      const year = Number(now.date.slice(0, 4));
      if (!loadCalendar(config.marketCalendarFile).holidaysListed(year)) logger.warn({ year }, "the exchange calendar has no holiday list for this year: only weekends and hours are enforced until it is added (src/market/holidays.json or MARKET_CALENDAR_FILE)");
    }

    const cache = openCache({ redisUrl: config.redisUrl });
    cleanup.push(() => cache.close());

    // Closed after the producers (cleanup runs in reverse): every tick published is written.
    const recorder = config.recordFile ? await TickRecorder.open(config.recordFile, logger) : undefined;
    if (recorder) {
      cleanup.push(async () => {
        await recorder.close();
        logger.info({ file: recorder.path, ...recorder.stats }, "ticks recorded");
      });
      logger.info({ file: recorder.path }, "recording market.ticks to RECORD_FILE");
    }

    const producer = log.producer({ clientId: "feed" });
    cleanup.push(() => producer.close());
    if (recorder) recordTicks(producer, recorder);

    // Before the stages: they find the control topics seeded, and the tables project them.
    const controls = await startControlPlane({ log, producer, sql: store.sql, brokers: config.activeBrokers, logger });
    cleanup.push(() => controls.close());

    const supervisor = new Supervisor({
      stages: STAGE_NAMES,
      env,
      memoryLog: log instanceof MemoryLog ? log : undefined,
      embeddedDb: store.embeddedOptions,
      embeddedDbConnector: store.embeddedConnector,
      memoryCache: cache instanceof MemoryCache ? cache : undefined,
      logger,
      restartMaxMs: config.workerRestartMaxMs,
    });
    supervisor.start();

    // Kite Connect: zerodha's order updates (postbacks, ticker, reconciliation) and FEED=kite.
    const kite = config.kite ? kiteGateway(config.kite, store, producer, logger) : undefined;
    if (kite) {
      cleanup.push(async () => kite.close());
      if (config.activeBrokers.includes("zerodha")) {
        void kite.reconcile().catch((err: unknown) => logger.warn({ err: (err as Error).message }, "could not reconcile with Kite at start"));
      }
    }
    const feed = config.feed.kind === "kite" && config.kite ? new KiteFeed(config.kite, producer, kite, logger, instruments) : new Feed(config.feed, producer, logger, instruments);
    feed.start();
    let lastCount = 0;
    const feedLog = setInterval(() => {
      if (feed.stats.published === lastCount) return;
      logger.info({ topic: "market.ticks", published: feed.stats.published, since_last: feed.stats.published - lastCount }, "ticks published to market.ticks");
      lastCount = feed.stats.published;
    }, 5_000);

    const apiProducer = log.producer({ clientId: "gateway-api" });
    cleanup.push(() => apiProducer.close());
    if (recorder) recordTicks(apiProducer, recorder);
    const services = createServices({ config, log, producer: apiProducer, store, cache, logger, controls, instruments, masterLoad, workers: () => supervisor.statuses() });
    await services.start();
    cleanup.push(() => services.close());

    const keys = new ApiKeys(store.sql);
    /** The development key, for the desk's link (a key the user chose is never printed). */
    let deskKey: string | undefined;
    if (config.bootstrapApiKey) {
      await registerBootstrapKey(store.sql, config.bootstrapApiKey);
      logger.info("BOOTSTRAP_API_KEY registered as a trade key");
    } else if (mode === "embedded") {
      const { key, reused } = await devKey(store.sql, dataDir);
      deskKey = key;
      // Printed on purpose: with nothing else set it is the only way in. It lives as long as the
      // database: this run's (DATA_DIR=memory), or the data directory's until revoked.
      logger.info(
        { api_key: key, scope: "trade", ...(dataDir ? { kept_in: dataDir, reused } : {}) },
        dataDir ? "development API key (kept in the data directory): Authorization: Bearer <api_key>" : "development API key for this run: Authorization: Bearer <api_key>",
      );
    }

    const app = createApp({ mode, log, store, cache, workers: () => supervisor.statuses(), feed: () => feed.stats, recorder: recorder && (() => recorder.stats), startedAt: started });
    if (kite && config.kite) mountPostbacks(app, config.kite.apiSecret, kite, logger);
    const rateLimiter = new RateLimiter(config.rateLimits);
    const openAlgo = openAlgoMount({ services, keys, sql: store.sql, activeBrokers: config.activeBrokers, logger, cache });
    mountApi(app, { services, auth: keys, logger, rateLimiter, extensions: [openAlgo] });
    // POST /webhooks/:token: TradingView and ChartInk alerts, the token their credential.
    mountWebhooks(app, { services, logger, rateLimiter });
    const ws = createWsHandlers({ services, auth: keys, logger });
    // A WebSocket connect is a read: charged before the upgrade.
    const upgrade = limitUpgrades(ws.upgrade, rateLimiter, keys);
    const server = Bun.serve({
      port: config.port,
      hostname: config.host,
      fetch: (req, srv) => (ws.isUpgrade(req) ? upgrade(req, srv) : app.fetch(req, srv)),
      websocket: ws.websocket,
    });
    const url = `http://${config.host}:${server.port}`;
    // The desk's link signs in by itself with the development key (the fragment never reaches a server).
    const desk = deskKey ? `${url}/#key=${deskKey}` : `${url}/`;
    logger.info({ url, desk, mode, brokers: config.activeBrokers, feed: config.feed.kind, log: log.kind, store: store.kind }, "gateway listening");

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        const t0 = Date.now();
        clearInterval(feedLog);
        await feed.stop();
        logger.info({ published: feed.stats.published }, "feed stopped");
        await supervisor.stop(Math.max(1_000, config.shutdownTimeoutMs - 2_000));
        logger.info({ stages: supervisor.statuses().map((s) => ({ stage: s.stage, handled: s.stats?.handled ?? 0 })) }, "stage workers stopped, offsets committed");
        ws.close();
        await server.stop(true);
        for (const close of cleanup.reverse()) await close().catch((err: unknown) => logger.warn({ err }, "error while closing"));
        logger.info({ ms: Date.now() - t0 }, "gateway stopped");
      })());
    return { url, port: server.port ?? config.port, log, stop };
  } catch (err) {
    for (const close of cleanup.reverse()) await close().catch(() => {});
    throw err;
  }
}

/** The in-process log's journal in DATA_DIR/log: what it acknowledged survives a kill -9. */
function openJournal(dataDir: string, logger: Logger): Journal {
  const t0 = Date.now();
  const journal = Journal.open({ dir: journalDir(dataDir), journaled });
  const { topics, groups } = journal.recovered;
  const messages = [...topics.values()].reduce((n, parts) => n + [...parts.values()].reduce((k, p) => k + p.messages.size, 0), 0);
  logger.info({ dir: journal.dir, messages, groups: groups.size, ms: Date.now() - t0 }, "in-process log: journal read");
  return journal;
}
