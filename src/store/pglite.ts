/**
 * Embedded PostgreSQL: PGlite (Postgres compiled to WASM, in this process) served over the wire
 * protocol on a loopback port, so the application talks to it through the very same postgres.js
 * client and SQL as to a real server.
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import type { Options, PostgresType } from "postgres";

/** A running embedded database and the client options that reach it. */
export interface Embedded {
  options: Partial<Options<Record<string, PostgresType>>>;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (in memory, or persisted in `dataDir`) and its socket server on a free port.
 *
 * @example
 * const pg = await startEmbedded();
 * const sql = postgres(pg.options);
 * // ... sql.end(), then pg.stop()
 */
export async function startEmbedded(dataDir?: string): Promise<Embedded> {
  const db = await PGlite.create(dataDir === undefined ? {} : { dataDir });
  // maxConnections stays 1: PGlite is ONE backend session, and the server feeds it the protocol
  // messages of every socket through one queue. With two sockets their Parse/Bind messages
  // interleave and bind to each other's unnamed statement ("bind message supplies 1 parameters,
  // but prepared statement "" requires 0" under Node; a RangeError from postgres.js's parser
  // under Bun). With maxConnections 1 a second socket is refused with a bare text line that
  // postgres.js never recognises, and its queries hang for ever (Node and Bun alike).
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  const port = Number(server.getServerConn().split(":").at(-1));
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
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
