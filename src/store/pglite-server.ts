/**
 * PGlite served over the PostgreSQL wire protocol on a loopback port, and to the threads of this
 * process over MessagePorts (`accept`; the client end is src/store/pglite-port.ts), so every
 * thread reaches the embedded database through postgres.js, the same client and SQL as for a
 * real server. A connection over a port is served exactly as a socket is.
 *
 * PGlite is ONE Postgres backend session, and this server shares it between its sockets:
 * - What a socket sent, all the complete messages it holds (postgres.js writes a statement's
 *   Parse, Bind, Describe, Execute and Sync at once), goes to PGlite in one call, and the
 *   response goes back in one write.
 * - A socket keeps the session from its first message until a response ends with ReadyForQuery
 *   and the status 'I' (idle, outside a transaction). Until then only its messages are served,
 *   and the others' wait: the extended protocol's unit is Parse … Sync, and a transaction's unit
 *   is BEGIN … COMMIT. Interleaved, one client's Bind would meet another's unnamed statement.
 * - A socket that goes away while it holds the session leaves it clean: a Sync ends a statement
 *   cut off half-way, and an open transaction is rolled back.
 *
 * Named prepared statements belong to the session, which every socket shares: clients must name
 * theirs apart (postgres.js does: a random prefix per connection), and those a socket made are
 * deallocated when it goes, so reconnecting clients do not pile them up.
 *
 * (Not @electric-sql/pglite-socket: it hands PGlite one message at a time, and releases the
 * session between a statement's messages unless a transaction is open.)
 *
 * @example
 * const db = await PGlite.create();
 * const server = servePGlite(db, { maxConnections: 32 });
 * // postgres({ host: "127.0.0.1", port: server.port, max: 1, ... })
 * await server.stop();
 */
import type { PGlite } from "@electric-sql/pglite";
import type { TCPSocketListener } from "bun";
import { CANCEL_REQUEST, endsIdle, fatal, GSSENC_REQUEST, PARSE, PROTOCOL_3, SSL_REQUEST, SYNC, TERMINATE } from "./pg-wire.ts";
import { PORT_END } from "./pglite-port.ts";

/** What the server needs of a connection's transport: a TCP socket, or a MessagePort (`PortSocket`). */
interface ConnSocket {
  /** Bytes taken (a TCP socket may take fewer, and calls `drain` for the rest). */
  write(bytes: Uint8Array): number;
  end(bytes?: Uint8Array): void;
}

interface Conn {
  socket: ConnSocket;
  /** Bytes received and not yet a complete message. */
  inbox: Buffer;
  /** Whether the startup message went through (after it, every message has a type byte). */
  started: boolean;
  /** Response bytes the socket did not take yet (written on drain). */
  unsent: Uint8Array | undefined;
  /** A Terminate arrived: close once what came before it is answered. */
  ending: boolean;
  closed: boolean;
  /** The named prepared statements it made: the session's, so deallocated when it goes. */
  statements: Set<string>;
}

/**
 * A unit of messages; the end of a socket that sent Terminate; the reset of a socket gone
 * mid-unit; the deallocation of the prepared statements of a socket gone.
 */
type Work = { conn: Conn; bytes: Uint8Array } | { conn: Conn; end: true } | { conn: Conn; reset: true } | { conn: Conn; forget: string[] };

export interface PGliteServer {
  port: number;
  /**
   * Serves one connection over `port`, as over a socket: the client (`portSocket`, in another
   * thread) posts the protocol's bytes and gets the responses posted back. Same session rules.
   */
  accept(port: MessagePort): void;
  stop(): Promise<void>;
}

export interface PGliteServerOptions {
  host?: string;
  /** 0 (the default): a free port. */
  port?: number;
  /** Sockets at once; one more is refused with SQLSTATE 53300. */
  maxConnections?: number;
}

export function servePGlite(db: PGlite, opts: PGliteServerOptions = {}): PGliteServer {
  const maxConnections = opts.maxConnections ?? 32;
  const conns = new Set<Conn>();
  const queue: Work[] = [];
  /** The socket whose unit of work is open: only its work is served until it ends. */
  let holder: Conn | undefined;
  let pumping = false;

  const write = (conn: Conn, bytes: Uint8Array) => {
    if (conn.closed || bytes.length === 0) return;
    if (conn.unsent) {
      conn.unsent = Buffer.concat([conn.unsent, bytes]);
      return;
    }
    const taken = conn.socket.write(bytes);
    if (taken < bytes.length) conn.unsent = bytes.slice(Math.max(taken, 0));
  };

  async function run(work: Work): Promise<void> {
    const { conn } = work;
    if ("end" in work) {
      conn.socket.end();
      return;
    }
    if ("forget" in work) {
      for (const name of work.forget) await db.exec(`deallocate "${name.replaceAll('"', '""')}"`).catch(() => {}); // (one whose Parse failed does not exist)
      return;
    }
    if ("reset" in work) {
      // The socket is gone half-way through its unit: end the statement, then the transaction.
      await db.runExclusive(() => db.execProtocolRawStream(SYNC, { onRawData: () => {} }));
      if (db.isInTransaction()) await db.exec("ROLLBACK");
      holder = undefined;
      return;
    }
    if (conn.closed) return;
    const chunks: Uint8Array[] = [];
    let length = 0;
    await db.runExclusive(() =>
      db.execProtocolRawStream(work.bytes, {
        // A view of PGlite's memory, valid only during the call.
        onRawData: (data) => {
          chunks.push(data.slice());
          length += data.length;
        },
      }),
    );
    const response = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
    holder = endsIdle(response) ? undefined : conn;
    // Gone while this ran (then `gone` saw no unit open): the reset is queued here instead.
    if (holder === conn && conn.closed) queue.unshift({ conn, reset: true });
    write(conn, response);
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const next = holder ? queue.findIndex((queued) => queued.conn === holder) : queue.length > 0 ? 0 : -1;
        if (next < 0) break;
        const work = queue.splice(next, 1)[0]!;
        try {
          await run(work);
        } catch (err) {
          // PGlite itself failed (not a SQL error: those are answered in the protocol).
          if (holder === work.conn) holder = undefined;
          work.conn.socket.end(fatal("XX000", `embedded database: ${(err as Error).message}`));
        }
      }
    } finally {
      pumping = false;
    }
  }

  /** Queues the complete messages of the inbox as one unit (the startup message alone; none from a Terminate on). */
  function take(conn: Conn): void {
    let at = 0;
    const inbox = conn.inbox;
    let unitStart = 0;
    while (!conn.ending) {
      if (!conn.started) {
        if (inbox.length - at < 8) break;
        const len = inbox.readInt32BE(at);
        const code = inbox.readInt32BE(at + 4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          write(conn, Buffer.from("N"));
          at += 8;
          unitStart = at;
          continue;
        }
        if (code === CANCEL_REQUEST || code !== PROTOCOL_3 || len < 8) {
          // Cancelling is not supported (a statement here runs to its end); anything else is not Postgres.
          conn.socket.end(code === CANCEL_REQUEST ? undefined : fatal("08P01", "unsupported startup message"));
          conn.inbox = Buffer.alloc(0);
          return;
        }
        if (inbox.length - at < len) break;
        // A unit of its own: PGlite answers a startup message and nothing after it in one call.
        queue.push({ conn, bytes: inbox.subarray(at, at + len) });
        at += len;
        unitStart = at;
        conn.started = true;
        continue;
      }
      if (inbox.length - at < 5) break;
      if (inbox[at] === TERMINATE) {
        conn.ending = true;
        break;
      }
      const len = 1 + inbox.readInt32BE(at + 1);
      if (inbox.length - at < len) break;
      if (inbox[at] === PARSE && inbox[at + 5] !== 0) conn.statements.add(inbox.toString("utf8", at + 5, inbox.indexOf(0, at + 5)));
      at += len;
    }
    if (at > unitStart) queue.push({ conn, bytes: inbox.subarray(unitStart, at) });
    // Closed once everything before it is answered; a unit it left open is then reset.
    if (conn.ending) queue.push({ conn, end: true });
    conn.inbox = at === inbox.length || conn.ending ? Buffer.alloc(0) : inbox.subarray(at);
  }

  const newConn = (socket: ConnSocket): Conn => ({ socket, inbox: Buffer.alloc(0), started: false, unsent: undefined, ending: false, closed: false, statements: new Set() });

  /** Takes a new connection, or past maxConnections refuses it (closes it, which may call `gone` at once). */
  function admit(conn: Conn): void {
    if (conns.size >= maxConnections) {
      conn.closed = true;
      conn.socket.end(fatal("53300", `too many connections (at most ${maxConnections})`));
    } else conns.add(conn);
  }

  function received(conn: Conn, data: Uint8Array): void {
    if (conn.closed || conn.ending) return;
    conn.inbox = conn.inbox.length === 0 ? Buffer.from(data) : Buffer.concat([conn.inbox, data]);
    take(conn);
    void pump();
  }

  function gone(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    conns.delete(conn);
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.conn === conn) queue.splice(i, 1);
    if (holder === conn) queue.unshift({ conn, reset: true }); // (a unit running now queues its own: `run`)
    if (conn.statements.size > 0) queue.push({ conn, forget: [...conn.statements] });
    void pump();
  }

  const listener: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: opts.host ?? "127.0.0.1",
    port: opts.port ?? 0,
    socket: {
      open(socket) {
        socket.data = newConn(socket);
        socket.setNoDelay(true);
        admit(socket.data);
      },
      data(socket, data) {
        received(socket.data, data);
      },
      drain(socket) {
        const conn = socket.data;
        const rest = conn.unsent;
        if (!rest) return;
        conn.unsent = undefined;
        write(conn, rest);
      },
      close(socket) {
        gone(socket.data);
      },
      error(socket) {
        gone(socket.data);
      },
    },
  });

  return {
    port: listener.port,
    accept(port) {
      const conn = newConn({
        write(bytes) {
          port.postMessage(bytes);
          return bytes.length;
        },
        end(bytes) {
          if (bytes) port.postMessage(bytes);
          port.postMessage(PORT_END);
          port.close();
          gone(conn);
        },
      });
      port.onmessage = (e) => {
        const data = e.data as Uint8Array | typeof PORT_END;
        if (data === PORT_END) gone(conn);
        else received(conn, data);
      };
      // The other end's thread ended (a worker stopped or crashed): as a socket closing.
      port.addEventListener("close", () => gone(conn));
      admit(conn);
    },
    async stop() {
      listener.stop(true);
      for (const conn of [...conns]) gone(conn);
      while (pumping || queue.length > 0) await Bun.sleep(1);
    },
  };
}
