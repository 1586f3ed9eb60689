/**
 * One API under test: the fake services, the real api_keys table on embedded PGlite, and a read
 * key and a trade key. `call` speaks to the Hono app in-process (no socket).
 */
import { Hono } from "hono";
import pino from "pino";
import { ApiKeys, mountApi, type RateLimiter } from "../../gateway/api/index.ts";
import { createApp } from "../../gateway/app.ts";
import { openAlgoMount } from "../../gateway/openalgo/index.ts";
import type { Broker } from "../../src/config.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { FakeServices } from "./fake-services.ts";

export const silent = pino({ level: "silent" });

export interface Harness {
  store: Store;
  keys: ApiKeys;
  services: FakeServices;
  app: Hono;
  readKey: string;
  tradeKey: string;
  openapi: Record<string, unknown>;
  call(method: string, path: string, opts?: { body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; json: any }>;
  close(): Promise<void>;
}

/** The app as runtime.ts builds it: createApp's /health, /ready and 404, with the API mounted. */
function baseApp(store: Store): Hono {
  return createApp({
    mode: "embedded",
    log: { kind: "memory", listTopics: async () => [] } as never,
    store,
    cache: { get: async () => undefined } as never,
    workers: () => [],
    feed: () => ({ kind: "none", running: false, published: 0 }) as never,
    startedAt: Date.now(),
  });
}

/**
 * @param opts.openAlgo mounts OpenAlgo's API too (gateway/openalgo) over the same services and keys.
 * @param opts.activeBrokers the brokers the fake services run (default paper).
 */
export async function harness(opts: { store?: Store; rateLimiter?: RateLimiter; openAlgo?: boolean; activeBrokers?: Broker[] } = {}): Promise<Harness> {
  const store = opts.store ?? (await openStore());
  const keys = new ApiKeys(store.sql);
  const services = new FakeServices();
  if (opts.activeBrokers) services.activeBrokers = opts.activeBrokers;
  const app = baseApp(store);
  const extensions = opts.openAlgo ? [openAlgoMount({ services, keys, sql: store.sql, activeBrokers: services.activeBrokers, logger: silent })] : [];
  const { openapi } = mountApi(app, { services, auth: keys, logger: silent, rateLimiter: opts.rateLimiter, extensions });
  const readKey = (await keys.create(["read"], "test-read")).key;
  const tradeKey = (await keys.create(["trade"], "test-trade")).key;
  return {
    store,
    keys,
    services,
    app,
    readKey,
    tradeKey,
    openapi,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const key = o.key === undefined ? tradeKey : o.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
      const res = await app.request(path, { method, headers, body });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = { text };
      }
      return { status: res.status, headers: res.headers, json };
    },
    close: () => (opts.store ? Promise.resolve() : store.close()),
  };
}
