/**
 * The gateway's HTTP surface. GET /health says the process is alive; GET /ready checks each
 * dependency (log, store, cache, stage workers, feed) and answers 503 while any is not.
 * Errors always have one shape: {"error":{"code","message","details"}}.
 */
import { Hono } from "hono";
import type { Cache } from "../src/cache/index.ts";
import type { Log } from "../src/log/port.ts";
import type { FeedStats } from "../src/market/feed.ts";
import type { Store } from "../src/store/index.ts";
import type { WorkerStatus } from "./supervisor.ts";

export interface AppDeps {
  mode: "embedded" | "distributed";
  log: Log;
  store: Store;
  cache: Cache;
  workers: () => WorkerStatus[];
  feed: () => FeedStats;
  startedAt: number;
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

export const errorBody = (code: string, message: string, details?: unknown) => ({ error: { code, message, details: details ?? null } });

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();

  app.get("/health", (c) => c.json({ status: "ok", mode: deps.mode, uptime_s: Math.round((Date.now() - deps.startedAt) / 1000) }));

  app.get("/ready", async (c) => {
    const checks = await Promise.all([
      check("log", deps.log.kind, 2_000, async () => ({ topics: (await deps.log.listTopics()).length })),
      check("store", deps.store.kind, 2_000, async () => {
        await deps.store.sql`select 1`;
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
    return c.json({ status: ready ? "ready" : "not_ready", checks }, ready ? 200 : 503);
  });

  app.notFound((c) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => c.json(errorBody("INTERNAL", err.message), 500));
  return app;
}
