/**
 * Embedded PostgreSQL: PGlite (Postgres compiled to WASM, in this process, on a thread of its own)
 * served over the wire protocol on a loopback port (and to the stage workers over MessagePorts:
 * `connector`), so the application talks to it through the very same postgres.js client and SQL
 * as to a real server.
 */
import type { Options, PostgresType } from "postgres";
import type { ThreadMemory } from "../thread-memory.ts";
import type { FromDbWorker, ToDbWorker } from "./pglite-worker.ts";

/** postgres.js options that reach the embedded database. */
export type EmbeddedOptions = Partial<Options<Record<string, PostgresType>>>;

/** A running embedded database and the client options that reach it. */
export interface Embedded {
  options: EmbeddedOptions;
  url: string;
  /**
   * A new port to the database's thread for another thread's connections (postgres.js's `socket`:
   * src/store/pglite-port.ts `overPort`), past the loopback socket.
   */
  connector(): MessagePort;
  /** The database thread's heap (its WebAssembly memory and in-memory files included). */
  memory(): Promise<ThreadMemory>;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (in memory, or persisted in `dataDir`) and its socket server on a free port, in a
 * thread of their own (src/store/pglite-worker.ts): SQL runs there, not on the caller's thread.
 *
 * PGlite is ONE backend session. Several clients may connect (the gateway's, one per stage worker):
 * the server keeps the session for one socket from a statement's first protocol message until
 * Postgres is ready again outside a transaction (src/store/pglite-server.ts), so their extended
 * protocol messages never interleave. Each client must use `options`: one connection (its prepared
 * statements are deallocated by the server when it goes).
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
      // One connection a client: a second would wait behind the first's transaction (the
      // session is one), where `sql` inside `sql.begin` would hang instead of failing. Never
      // recycled: PGlite's session is not renewed by a new socket anyway.
      max: 1,
      max_lifetime: null,
      // Prepared statements (postgres.js's default) are named apart per connection, and the
      // server deallocates a socket's when it goes (src/store/pglite-server.ts). Unnamed ones
      // cost postgres.js two round trips a parameterised query (Parse/Describe, then
      // Bind/Execute), the session held between them.
    },
    connector() {
      const { port1, port2 } = new MessageChannel();
      worker.postMessage({ t: "acceptor", port: port1 } satisfies ToDbWorker, [port1]);
      return port2;
    },
    memory() {
      // A port of its own, so an answer never mixes with the start/stop replies.
      const { port1, port2 } = new MessageChannel();
      const answer = new Promise<ThreadMemory>((resolve) => {
        port2.onmessage = (e) => (port2.close(), resolve(e.data as ThreadMemory));
      });
      worker.postMessage({ t: "memory", port: port1 } satisfies ToDbWorker, [port1]);
      return answer;
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
