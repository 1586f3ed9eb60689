/**
 * The embedded database's own thread: PGlite (Postgres in WASM) and its socket server run here,
 * so that executing SQL does not take the main thread, which serves the API and the in-process
 * log. Started and stopped by `startEmbedded` (src/store/pglite.ts) through messages:
 * `{ t: "start", dataDir? }` → `{ t: "ready", port }` | `{ t: "failed", message }`;
 * `{ t: "stop" }` → `{ t: "stopped" }`; `{ t: "memory", port }` → this thread's heap on `port`;
 * `{ t: "acceptor", port }` (no answer): a port on which
 * another thread asks for connections served over ports (`{ t: "connect", port }`,
 * src/store/pglite-port.ts).
 */
import { PGlite } from "@electric-sql/pglite";
import { threadMemory } from "../thread-memory.ts";
import type { ConnectRequest } from "./pglite-port.ts";
import { servePGlite, type PGliteServer } from "./pglite-server.ts";

declare const self: Worker;

export type ToDbWorker = { t: "start"; dataDir?: string } | { t: "stop" } | { t: "acceptor"; port: MessagePort } | { t: "memory"; port: MessagePort };
export type FromDbWorker = { t: "ready"; port: number } | { t: "failed"; message: string } | { t: "stopped" };

const post = (m: FromDbWorker) => self.postMessage(m);

/**
 * PGlite's own start parameters, and a small WAL: in memory it is memory, and Postgres's defaults
 * keep at least 80 MB of it (min_wal_size) and let it grow to 1 GB (max_wal_size) between
 * checkpoints. Two 16 MB segments, the least Postgres takes, and a checkpoint when they are used.
 * A 16 MB buffer pool, not 128: the pages it caches are already in this process (in memory) or in
 * the OS's page cache (on disk), so a larger pool holds a second copy of the same pages.
 */
const START_PARAMS = [...PGlite.defaultStartParams, "-c", "min_wal_size=32MB", "-c", "max_wal_size=32MB", "-c", "shared_buffers=16MB"];
/**
 * In memory, WAL segments of 1 MB instead of 16: each segment is a file held whole in memory, and
 * the tables are unlogged there anyway (src/store/index.ts skipWal). A data directory keeps
 * Postgres's 16 MB: fewer segment switches, each one a sync to disk.
 */
const IN_MEMORY_INITDB = ["--wal-segsize=1"];
/** Sockets at once: the gateway's client, a client per stage worker, and room for restarts and tools. */
const MAX_CONNECTIONS = 32;
let running: { db: PGlite; server: PGliteServer } | undefined;

self.onmessage = async (event: MessageEvent<ToDbWorker>) => {
  const msg = event.data;
  if (msg.t === "memory") {
    msg.port.postMessage(threadMemory());
    msg.port.close();
    return;
  }
  if (msg.t === "acceptor") {
    // Connections from another thread over ports (src/store/pglite-port.ts), each served as a socket is.
    msg.port.onmessage = (e) => {
      const req = e.data as ConnectRequest;
      if (req?.t !== "connect") return;
      if (running) running.server.accept(req.port);
      else req.port.close();
    };
    return;
  }
  if (msg.t === "start") {
    let db: PGlite | undefined;
    try {
      db = await PGlite.create({ ...(msg.dataDir === undefined ? { initDbStartParams: IN_MEMORY_INITDB } : { dataDir: msg.dataDir }), startParams: START_PARAMS });
      // One socket for the main thread and one for each stage worker, sharing PGlite's one
      // session a unit of work at a time (src/store/pglite-server.ts).
      const server = servePGlite(db, { host: "127.0.0.1", port: 0, maxConnections: MAX_CONNECTIONS });
      running = { db, server };
      post({ t: "ready", port: server.port });
    } catch (err) {
      await db?.close().catch(() => {});
      post({ t: "failed", message: (err as Error).message });
    }
    return;
  }
  try {
    await running?.server.stop();
    await running?.db.close();
  } finally {
    running = undefined;
    post({ t: "stopped" });
  }
};
