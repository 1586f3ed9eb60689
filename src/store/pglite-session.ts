/**
 * Several sockets on PGlite's one backend session, safely.
 *
 * PGlite is ONE Postgres backend. @electric-sql/pglite-socket's server feeds it the protocol
 * messages of all its sockets through one queue, one message at a time, and keeps a socket to
 * itself only while a transaction is open (`db.isInTransaction()`). The extended protocol's
 * unit, though, is Parse … Sync: with two sockets their Parse and Bind messages interleave and one
 * binds to the other's unnamed statement ("bind message supplies 1 parameters, but prepared
 * statement "" requires 0"). That is why the embedded store had one connection, and why every
 * worker's statement went through the main thread's client.
 *
 * `shareSession` makes the queue keep the session for one socket from its first message until
 * Postgres is ready for a query again outside a transaction: the response ends with
 * ReadyForQuery ('Z') and the status 'I'. Until then the socket's next messages are served
 * first, and the others' wait. It does so through the queue's one question, "is the session
 * taken?" (its `db.isInTransaction()`), answered by a view of the database that also watches the
 * responses; nothing else of the library changes. Each client must then use unnamed statements
 * only (postgres.js: `prepare: false`): named ones would belong to the session, not the socket.
 *
 * Written against @electric-sql/pglite-socket 0.2.x, whose QueryQueueManager reads `db` for
 * isInTransaction, runExclusive, execProtocolRawStream and exec; the test
 * (test/store/pglite-session.int.test.ts) fails if a later version serves the queue otherwise.
 */
import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const READY_FOR_QUERY = 0x5a; // 'Z', length 5, then the transaction status
const IDLE = 0x49; // 'I': not in a transaction block

/** The queue's private shape that this relies on. */
interface Queue {
  db: Pick<PGlite, "isInTransaction" | "runExclusive" | "execProtocolRawStream" | "exec">;
}

export function shareSession(server: PGLiteSocketServer, db: PGlite): void {
  const queue = (server as unknown as { queryQueue?: Queue }).queryQueue;
  if (!queue || queue.db !== db) throw new Error("pglite-socket's query queue is not where shareSession expects it (library version changed?)");
  // Whether the socket served last is inside a unit: it is until a response ends ReadyForQuery 'I'.
  let held = false;
  queue.db = {
    isInTransaction: () => held || db.isInTransaction(),
    runExclusive: (fn) => db.runExclusive(fn),
    async execProtocolRawStream(message, options) {
      // The last 6 bytes of the response, across its chunks.
      const tail = new Uint8Array(6);
      let seen = 0;
      const onRawData = options?.onRawData;
      const result = await db.execProtocolRawStream(message, {
        ...options,
        onRawData(data: Uint8Array) {
          if (data.length >= 6) tail.set(data.subarray(data.length - 6));
          else {
            tail.copyWithin(0, data.length);
            tail.set(data, 6 - data.length);
          }
          seen += data.length;
          onRawData?.(data);
        },
      });
      held = !(seen >= 6 && tail[0] === READY_FOR_QUERY && tail[1] === 0 && tail[2] === 0 && tail[3] === 0 && tail[4] === 5 && tail[5] === IDLE);
      return result;
    },
    // The queue runs a ROLLBACK when a socket that held the session disconnects: the unit is over.
    async exec(query, options) {
      const result = await db.exec(query, options);
      held = false;
      return result;
    },
  };
}
