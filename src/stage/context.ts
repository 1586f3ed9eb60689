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
import type { InstrumentMaster } from "../market/instruments.ts";
import { rpcClient } from "../rpc.ts";
import { openDb, type Db } from "../store/db.ts";
import type { EmbeddedOptions } from "../store/pglite.ts";

export interface StageContext {
  config: Config;
  logger: Logger;
  log: Log;
  producer: Producer;
  db: Db;
  cache: Cache;
  /** The instrument master read from the database when the worker started. */
  instruments: InstrumentMaster;
  close(): Promise<void>;
}

/** A context before its instrument master is read (that needs `db`). */
export type StageConnections = Omit<StageContext, "instruments">;

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
export function stageContext(config: Config, logger: Logger, name: string, ports: StagePorts = {}, embeddedDb?: EmbeddedOptions): StageConnections {
  const log: Log = ports.log ? new RemoteLog(ports.log) : openLog(config, name);
  const producer = log.producer({ clientId: name, maxInFlight: 16 });
  const closers: Array<() => Promise<unknown>> = [() => producer.close(), () => log.close()];
  const opened = openDb({ embedded: embeddedDb, port: ports.db, databaseUrl: config.databaseUrl });
  if (!opened) throw new Error(`stage ${name}: no database (neither the embedded database's options nor DATABASE_URL)`);
  closers.push(() => opened.close());
  const db: Db = opened.db;
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
