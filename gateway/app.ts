/**
 * The gateway's HTTP surface. GET /health says the process is alive; GET /ready checks each
 * dependency (log, store, cache, stage workers, feed) and answers 503 while any is not.
 * Errors always have one shape: {"error":{"code","message","details"}}.
 */
import { Hono } from "hono";
import type { Cache } from "../src/cache/index.ts";
import type { Log } from "../src/log/port.ts";
import type { FeedStats } from "../src/market/feed.ts";
import type { RecorderStats } from "../src/market/recorder.ts";
import type { Store } from "../src/store/index.ts";
import { ApiKeys, bearerKey } from "./api/auth.ts";
import { mountDesk } from "./desk/serve.ts";
import { tickToFill } from "./services/pipeline.ts";
import { mb, threadMemory } from "../src/thread-memory.ts";
import { within } from "../src/errors.ts";
import type { WorkerStatus } from "./supervisor.ts";

export interface AppDeps {
  mode: "embedded" | "distributed";
  log: Log;
  store: Store;
  cache: Cache;
  workers: () => WorkerStatus[];
  feed: () => FeedStats;
  /** RECORD_FILE's counts, when it is set. */
  recorder?: () => RecorderStats;
  startedAt: number;
  /** Who may see /ready's details; default: the store's api_keys. */
  keys?: Pick<ApiKeys, "verify">;
}

interface Check {
  name: string;
  ok: boolean;
  kind?: string;
  detail?: unknown;
  error?: string;
}

/** A dependency that does not answer within `ms` is down. */
async function check(name: string, kind: string, ms: number, probe: () => Promise<unknown>): Promise<Check> {
  let timer: Timer | undefined;
  try {
    const detail = await Promise.race([
      probe(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
    ]);
    return { name, ok: true, kind, detail };
  } catch (err) {
    return { name, ok: false, kind, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const RETRY = { "Retry-After": "5" };

/**
 * Any method but GET (and HEAD, which Hono answers as GET) on `path` is a 405 with Allow.
 * Register it after the path's GET handler.
 *
 * @example
 * app.get("/health", handler); onlyGet(app, "/health");
 */
export function onlyGet(app: Hono, path: string): void {
  app.all(path, (c) => c.json(errorBody("METHOD_NOT_ALLOWED", `${path} does not take ${c.req.method}; it takes GET, HEAD`), 405, { Allow: "GET, HEAD" }));
}

export const errorBody = (code: string, message: string, details?: unknown) => ({ error: { code, message, details: details ?? null } });

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();

  app.get("/health", (c) => c.json({ status: "ok", mode: deps.mode, uptime_s: Math.round((Date.now() - deps.startedAt) / 1000) }));

  // Details (stage stats, the store's URL: for the embedded store, a way in) only for a valid
  // API key; without one, only ready or not.
  const keys = deps.keys ?? new ApiKeys(deps.store.sql);
  app.get("/ready", async (c) => {
    const key = bearerKey(c.req.header("authorization"));
    let holder = false;
    if (key) {
      try {
        holder = (await keys.verify(key)) !== undefined;
      } catch {
        // The store is down: the key cannot be checked, and the gateway is not ready either.
        return c.json({ status: "not_ready" }, 503, RETRY);
      }
      if (!holder) return c.json(errorBody("UNAUTHORIZED", "the API key is unknown or revoked"), 401, { "WWW-Authenticate": 'Bearer realm="alpha-panda", error="invalid_token"' });
    }
    const checks = await Promise.all([
      check("log", deps.log.kind, 2_000, async () => ({ topics: (await deps.log.listTopics()).length })),
      check("store", deps.store.kind, 2_000, async () => {
        await deps.store.ping();
        return { url: deps.store.url };
      }),
      check("cache", deps.cache.constructor.name, 2_000, () => deps.cache.get("health:probe")),
    ]);
    for (const w of deps.workers()) {
      checks.push({ name: `stage.${w.stage}`, ok: w.state === "running", detail: { state: w.state, restarts: w.restarts, ...w.stats }, error: w.lastError });
    }
    const feed = deps.feed();
    checks.push({ name: "feed", ok: feed.kind === "none" || feed.running || !feed.lastError, kind: feed.kind, detail: { published: feed.published }, error: feed.lastError });
    const ready = checks.every((x) => x.ok);
    const status = ready ? "ready" : "not_ready";
    return c.json(holder ? { status, checks, memory: await memoryOf(deps.store) } : { status }, ready ? 200 : 503, ready ? {} : RETRY);
  });

  // Prometheus text format: what each stage and the feed have done, and worker restarts.
  app.get("/metrics", (c) => {
    const lines: string[] = [];
    const metric = (name: string, type: "counter" | "gauge", help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const workers = deps.workers();
    const per = (f: (w: WorkerStatus) => number | undefined): Array<[string, number]> => workers.map((w) => [`{stage="${w.stage}"}`, f(w) ?? 0]);
    metric("alpha_panda_uptime_seconds", "gauge", "Seconds since the gateway started.", [["", Math.round((Date.now() - deps.startedAt) / 1000)]]);
    metric("alpha_panda_feed_ticks_published_total", "counter", "Ticks the market feed put on market.ticks.", [[`{feed="${deps.feed().kind}"}`, deps.feed().published]]);
    const recorded = deps.recorder?.();
    if (recorded) {
      metric("alpha_panda_feed_ticks_recorded_total", "counter", "Ticks published to market.ticks (every feed and the API) written to RECORD_FILE.", [["", recorded.recorded]]);
      metric("alpha_panda_feed_ticks_record_failures_total", "counter", "Ticks published to market.ticks that could not be written to RECORD_FILE.", [["", recorded.failed]]);
    }
    metric("alpha_panda_stage_events_handled_total", "counter", "Events a stage handled.", per((w) => w.stats?.handled));
    metric("alpha_panda_stage_duplicates_total", "counter", "Redelivered events a stage skipped.", per((w) => w.stats?.duplicates));
    metric("alpha_panda_stage_dead_letters_total", "counter", "Messages a stage sent to a DLQ.", per((w) => w.stats?.deadLettered));
    metric("alpha_panda_stage_events_conflated_total", "counter", "Of the events handled, ticks skipped because a later tick of the same instrument superseded them.", per((w) => w.stats?.conflated));
    metric("alpha_panda_stage_events_produced_total", "counter", "Messages a stage produced.", per((w) => w.stats?.produced));
    metric("alpha_panda_stage_partitions", "gauge", "Partitions a stage owns in this process.", per((w) => w.stats?.partitions));
    metric("alpha_panda_stage_restarts_total", "counter", "Times a stage worker was restarted after a crash.", per((w) => w.restarts));
    metric("alpha_panda_stage_running", "gauge", "1 when the stage worker is running.", per((w) => (w.state === "running" ? 1 : 0)));
    // Tick → fill latency, recorded where the portfolio stage applies a fill (src/stage/latency.ts):
    // quantiles over the last seconds (a sliding window), count and sum since the worker started.
    const latency = tickToFill(workers);
    if (latency.length > 0) {
      const name = "alpha_panda_tick_to_fill_ms";
      lines.push(`# HELP ${name} Milliseconds from a tick entering the gateway to the fill it caused being applied to the portfolio.`, `# TYPE ${name} summary`);
      for (const l of latency) {
        for (const [q, v] of [["0.5", l.p50], ["0.95", l.p95], ["0.99", l.p99], ["1", l.max]] as const) lines.push(`${name}{quantile="${q}"} ${v}`);
        lines.push(`${name}_sum ${l.sum_ms}`, `${name}_count ${l.count}`);
      }
    }
    // Per hop: an event's creation → the stage's batch that brought it (StreamProcessor.inbound).
    const hops = workers.flatMap((w) => (w.stats?.inbound ? [[w.stage, w.stats.inbound] as const] : []));
    if (hops.length > 0) {
      const name = "alpha_panda_stage_inbound_ms";
      lines.push(`# HELP ${name} Milliseconds from an event's creation to the stage taking it up (the events of the inputs the stage does not conflate).`, `# TYPE ${name} summary`);
      for (const [stage, l] of hops) {
        for (const [q, v] of [["0.5", l.p50], ["0.95", l.p95], ["0.99", l.p99], ["1", l.max]] as const) lines.push(`${name}{stage="${stage}",quantile="${q}"} ${v}`);
        lines.push(`${name}_sum{stage="${stage}"} ${l.sum_ms}`, `${name}_count{stage="${stage}"} ${l.count}`);
      }
    }
    return c.text(`${lines.join("\n")}\n`, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  for (const path of ["/health", "/ready", "/metrics"]) onlyGet(app, path);
  // The trader's desk at / (gateway/desk): public like /openapi.json; the page asks for a key.
  mountDesk(app);
  app.notFound((c) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => c.json(errorBody("INTERNAL", err.message), 500));
  return app;
}

/**
 * The process's resident set, the main thread's heap and the embedded database thread's (each
 * stage worker's is in its stats). A database thread that does not answer at once is left out:
 * the store's check says whether it is stuck.
 */
async function memoryOf(store: Store) {
  const database = store.embeddedMemory && (await within(store.embeddedMemory(), 1_000));
  return { rss_mb: mb(process.memoryUsage.rss()), main: threadMemory(), ...(database ? { database } : {}) };
}
