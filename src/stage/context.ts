/**
 * What a stage gets to work with inside its worker. In the embedded mode the log and the cache
 * live on the main thread and arrive as MessagePorts, and the worker opens its own connection to
 * embedded PGlite, over a port to PGlite's thread (`ports.db`, src/store/pglite-port.ts; without
 * it, over PGlite's loopback socket); in the distributed mode the worker opens its own clients to
 * Kafka, PostgreSQL and Redis.
 */
import { openCache } from "../cache/index.ts";
import type { Cache } from "../cache/port.ts";
import type { Config } from "../config.ts";
import { RemoteLog } from "../log/bridge/index.ts";
import { openLog } from "../log/index.ts";
import type { Log, Producer } from "../log/port.ts";
import type { Logger } from "../logger.ts";
import { rpcClient } from "../rpc.ts";
import { reconnectBackoff, sqlDb, type Db } from "../store/db.ts";
import { overPort } from "../store/pglite-port.ts";
import type { EmbeddedOptions } from "../store/pglite.ts";
import postgres from "postgres";

export interface StageContext {
  config: Config;
  logger: Logger;
  log: Log;
  producer: Producer;
  db: Db;
  cache: Cache;
  close(): Promise<void>;
}

/**
 * The ports the main thread hands a worker: one for each resource it holds in-process (the
 * in-process log, the in-memory cache). A resource without a port is a service the worker
 * connects to itself.
 */
export interface StagePorts {
  log?: MessagePort;
  cache?: MessagePort;
  /** The embedded database's thread, for this worker's connections (src/store/pglite-port.ts). */
  db?: MessagePort;
}

/** The cache methods served to workers. */
export const CACHE_METHODS = ["get", "set", "del", "mget", "hset", "hget", "hgetall", "hdel", "incrby", "setNX", "keys"] as const;

/**
 * @param embeddedDb the embedded database's client options (`Store.embeddedOptions`); without
 *   them the worker connects to DATABASE_URL.
 */
export function stageContext(config: Config, logger: Logger, name: string, ports: StagePorts = {}, embeddedDb?: EmbeddedOptions): StageContext {
  const log: Log = ports.log ? new RemoteLog(ports.log) : openLog(config, name);
  const producer = log.producer({ clientId: name, maxInFlight: 16 });
  const closers: Array<() => Promise<unknown>> = [() => producer.close(), () => log.close()];
  let db: Db;
  if (embeddedDb || config.databaseUrl) {
    const sql = embeddedDb
      ? postgres({ ...embeddedDb, onnotice: () => {}, ...(ports.db ? overPort(ports.db) : {}) })
      : postgres(config.databaseUrl!, { max: 4, onnotice: () => {}, backoff: reconnectBackoff });
    closers.push(() => sql.end({ timeout: 5 }));
    db = sqlDb(sql);
  } else throw new Error(`stage ${name}: no database (neither the embedded database's options nor DATABASE_URL)`);
  let cache: Cache;
  if (ports.cache) cache = rpcClient<Cache>(ports.cache);
  else if (config.redisUrl) {
    cache = openCache({ redisUrl: config.redisUrl });
    closers.push(() => cache.close());
  } else throw new Error(`stage ${name}: no cache (neither a port from the main thread nor REDIS_URL)`);
  return {
    config,
    logger,
    log,
    producer,
    db,
    cache,
    close: async () => {
      for (const close of closers) await close();
    },
  };
}
