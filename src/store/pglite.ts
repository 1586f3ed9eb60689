/**
 * Embedded PostgreSQL: PGlite (Postgres compiled to WASM, in this process, on a thread of its own)
 * served over the wire protocol on a loopback port, so the application talks to it through the very same postgres.js
 * client and SQL as to a real server.
 */
import type { Options, PostgresType } from "postgres";
import type { FromDbWorker, ToDbWorker } from "./pglite-worker.ts";

/** A running embedded database and the client options that reach it. */
export interface Embedded {
  options: Partial<Options<Record<string, PostgresType>>>;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (in memory, or persisted in `dataDir`) and its socket server on a free port, in a
 * thread of their own (src/store/pglite-worker.ts): SQL runs there, not on the caller's thread.
 *
 * maxConnections stays 1: PGlite is ONE backend session, and the server feeds it the protocol
 * messages of every socket through one queue. With two sockets their Parse/Bind messages
 * interleave and bind to each other's unnamed statement ("bind message supplies 1 parameters,
 * but prepared statement "" requires 0" under Node; a RangeError from postgres.js's parser under
 * Bun). With maxConnections 1 a second socket is refused with a bare text line that postgres.js
 * never recognises, and its queries hang for ever (Node and Bun alike).
 *
 * @example
 * const pg = await startEmbedded();
 * const sql = postgres(pg.options);
 * // ... sql.end(), then pg.stop()
 */
export async function startEmbedded(dataDir?: string): Promise<Embedded> {
  const worker = new Worker(new URL("./pglite-worker.ts", import.meta.url).href);
  const next = () =>
    new Promise<FromDbWorker>((resolve, reject) => {
      const done = () => {
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onError);
      };
      const onMessage = (e: MessageEvent<FromDbWorker>) => (done(), resolve(e.data));
      const onError = (e: ErrorEvent) => (done(), reject(new Error(`the embedded database's thread failed: ${e.message}`)));
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", onError);
    });
  const send = (m: ToDbWorker) => worker.postMessage(m);
  const started = next();
  send({ t: "start", dataDir });
  let reply: FromDbWorker;
  try {
    reply = await started;
  } catch (err) {
    worker.terminate();
    throw err;
  }
  if (reply.t !== "ready") {
    worker.terminate();
    throw new Error(`the embedded database did not start: ${reply.t === "failed" ? reply.message : reply.t}`);
  }
  const port = reply.port;
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    options: {
      host: "127.0.0.1",
      port,
      user: "postgres",
      database: "postgres",
      // Exactly one connection, for the reasons above, and never recycled: PGlite's session is
      // not renewed by a new socket anyway, and a reopen racing the old socket's close would be
      // refused and hang.
      max: 1,
      max_lifetime: null,
      // Named prepared statements belong to the backend session, and PGlite's one session outlives
      // every socket: a reconnect (after a socket error) starts a fresh statement cache with fresh
      // names while the old statements stay behind (measured: 5 left after one short-lived
      // connection). Unnamed statements cost one Parse per query, which is nothing in-process.
      prepare: false,
    },
    stop() {
      stopped ??= (async () => {
        const bye = next();
        send({ t: "stop" });
        // Closing flushes a persisted database; a thread that is gone has nothing to flush.
        await Promise.race([bye.catch(() => {}), Bun.sleep(10_000)]);
        worker.terminate();
      })();
      return stopped;
    },
  };
}
