/**
 * Several clients on embedded PGlite's one session (src/store/pglite-server.ts): the gateway's
 * and each stage worker's postgres.js connect to the same socket server. Their statements must
 * not interleave inside the extended protocol's Parse … Sync, a transaction keeps the session
 * until it ends, and a client that goes away leaves the session clean.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import postgres, { type Sql } from "postgres";
import { overPort } from "../../src/store/pglite-port.ts";
import { startEmbedded, type Embedded } from "../../src/store/pglite.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

let pg: Embedded;
const clients: Sql[] = [];
/** A client over the loopback socket, or (`port`) over a MessagePort to PGlite's thread, as stage workers connect. */
const client = (via: "socket" | "port" = "socket") => {
  const sql = postgres({ ...pg.options, onnotice: () => {}, ...(via === "port" ? overPort(pg.connector()) : {}) });
  clients.push(sql);
  return sql;
};

beforeAll(async () => {
  pg = await startEmbedded();
  await client()`create table t (client int not null, n int not null, label text not null, tokens bigint[] not null)`;
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end({ timeout: 1 }).catch(() => {})));
  await pg.stop();
});

test("six clients at once, each with parameterised statements of different shapes, get their own answers", async () => {
  const sqls = Array.from({ length: 6 }, client);
  await Promise.all(
    sqls.map(async (sql, c) => {
      for (let n = 0; n < 150; n++) {
        // Statements with 4, 1 and 2 parameters: bound to another client's unnamed statement, the
        // counts would not match (the failure this guards against).
        await sql.unsafe("insert into t (client, n, label, tokens) values ($1, $2, $3, $4)", [c, n, `c${c}-${n}`, [c, n]]);
        const [row] = await sql.unsafe("select count(*)::int as k from t where client = $1", [c]);
        expect(row!.k).toBe(n + 1);
        const [echo] = await sql.unsafe("select $1::text || '/' || $2::int as v", [`c${c}`, n]);
        expect(echo!.v).toBe(`c${c}/${n}`);
      }
    }),
  );
  const rows = await sqls[0]!`select client, count(*)::int as k, max(tokens[2])::int as last from t group by client order by client`;
  expect(rows.map((r) => [r.client, r.k, r.last])).toEqual(Array.from({ length: 6 }, (_, c) => [c, 150, 149]));
}, 60_000);

/**
 * After another client went away inside its transaction (with t emptied before): `b` writes a row
 * of `client` and finds only that one, and no transaction is left open on the session (a lone
 * select has no transaction id of its own).
 */
async function expectRolledBack(b: Sql, client: number): Promise<void> {
  await b`insert into t values (${client}, 1, 'b', '{}')`;
  const rows = await b`select client from t order by client`;
  expect(rows.map((r) => r.client)).toEqual([client]);
  const [{ x }] = await b<[{ x: string | null }]>`select txid_current_if_assigned()::text as x`;
  expect(x).toBeNull();
}

test("clients over ports (the stage workers' way in) and over the socket, all at once, each get their own answers", async () => {
  const sqls = [client("port"), client("socket"), client("port"), client("socket"), client("port"), client("socket")];
  await Promise.all(
    sqls.map(async (sql, i) => {
      const c = 10 + i;
      for (let n = 0; n < 100; n++) {
        await sql.unsafe("insert into t (client, n, label, tokens) values ($1, $2, $3, $4)", [c, n, `c${c}-${n}`, [c, n]]);
        const [row] = await sql.unsafe("select count(*)::int as k from t where client = $1", [c]);
        expect(row!.k).toBe(n + 1);
        const [echo] = await sql`select ${`c${c}`}::text || '/' || ${n}::int as v`;
        expect(echo!.v).toBe(`c${c}/${n}`);
      }
    }),
  );
  // A transaction over a port keeps the session as one over a socket does.
  const [viaPort, viaSocket] = [sqls[0]!, sqls[1]!];
  const committed = await viaPort.begin(async (q) => {
    await q`insert into t values (99, 1, 'tx over a port', '{}')`;
    return (await q<[{ k: number }]>`select count(*)::int as k from t where client = 99`)[0].k;
  });
  expect(committed).toBe(1);
  const rows = await viaSocket`select client, count(*)::int as k from t where client >= 10 group by client order by client`;
  expect(rows.map((r) => [r.client, r.k])).toEqual([...Array.from({ length: 6 }, (_, i) => [10 + i, 100]), [99, 1]].sort((a, b) => a[0]! - b[0]!));
}, 60_000);

test("a thread that ends inside its transaction over a port: the transaction is rolled back and the others go on", async () => {
  const b = client();
  await b`delete from t`;
  const worker = new Worker(new URL("./fixtures/port-tx-worker.ts", import.meta.url).href);
  try {
    const said = new Promise<string>((resolve) => (worker.onmessage = (e) => resolve(String(e.data))));
    const acceptor = pg.connector();
    worker.postMessage({ options: pg.options, acceptor }, [acceptor]);
    expect(await said).toBe("inside");
  } finally {
    worker.terminate(); // its port closes with the transaction open
  }
  // b waits for the session (the dead thread held it), then finds it clean.
  await expectRolledBack(b, 600);
}, 30_000);

test("a transaction keeps the session: another client's statements wait for it and are not part of it", async () => {
  const [a, b] = [client(), client()];
  await a`delete from t`;
  let bDone = 0;
  let inside = -1;
  const tx = a.begin(async (q) => {
    await q`insert into t values (100, 1, 'tx', '{}')`;
    // b's insert and count go while this transaction is open: they wait for it.
    const other = b`insert into t values (200, 1, 'b', '{}')`.then(() => (bDone = Date.now()));
    await Bun.sleep(150);
    const [{ k }] = await q<[{ k: number }]>`select count(*)::int as k from t`;
    inside = k;
    throw new Error("roll it back");
  });
  await expect(tx).rejects.toThrow("roll it back");
  const rolledBackAt = Date.now();
  await Bun.sleep(50);
  expect(inside).toBe(1); // only its own row: b's insert had not run inside it
  expect(bDone).toBeGreaterThan(0);
  expect(bDone).toBeGreaterThanOrEqual(rolledBackAt - 5);
  const rows = await b`select client from t order by client`;
  expect(rows.map((r) => r.client)).toEqual([200]); // the transaction's row is gone, b's stays
}, 30_000);

test("a client that goes away inside its transaction: the transaction is rolled back and the others go on", async () => {
  const [a, b] = [client(), client()];
  await b`delete from t`;
  let resolveInside!: () => void;
  const inside = new Promise<void>((r) => (resolveInside = r));
  const tx = a
    .begin(async (q) => {
      await q`insert into t values (300, 1, 'lost', '{}')`;
      resolveInside();
      await Bun.sleep(10_000);
    })
    .catch((err: unknown) => err);
  await inside;
  await a.end({ timeout: 0 }); // the socket is closed with the transaction open
  expect(await tx).toBeInstanceOf(Error);
  await expectRolledBack(b, 400);
}, 30_000);

/** A raw socket to the server: what it answered, once `done` says the answer is complete. */
async function raw(send: Uint8Array[], done: (got: Buffer) => boolean, timeoutMs = 5_000): Promise<Buffer> {
  const socket = connect({ host: "127.0.0.1", port: pg.options.port! });
  let got = Buffer.alloc(0);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no complete answer; got ${got.length} bytes: ${got.toString("latin1")}`)), timeoutMs);
      socket.on("data", (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (done(got)) (clearTimeout(timer), resolve(got));
      });
      socket.on("error", reject);
      socket.on("connect", () => {
        for (const b of send) socket.write(b);
      });
    });
  } finally {
    socket.destroy();
  }
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const startup = () => {
  const body = Buffer.concat([int32(196_608), Buffer.from("user\0postgres\0database\0postgres\0\0")]);
  return Buffer.concat([int32(4 + body.length), body]);
};
/** A protocol message: type, length, body. */
const message = (type: string, body: Buffer = Buffer.alloc(0)) => Buffer.concat([Buffer.from(type), int32(4 + body.length), body]);
const cstr = (s: string) => Buffer.from(`${s}\0`);
const readyIdle = (b: Buffer) => b.length >= 6 && b.subarray(b.length - 6).equals(Buffer.from([0x5a, 0, 0, 0, 5, 0x49]));

test("an SSL request is declined with 'N', and the startup then goes on in the clear", async () => {
  const got = await raw([Buffer.concat([int32(8), int32(80_877_103)]), startup()], readyIdle);
  expect(got[0]).toBe(0x4e); // 'N'
  expect(got[1]).toBe(0x52); // 'R': AuthenticationOk follows
});

test("a client that failed half-way through a statement in a transaction (no Sync) and went away leaves the session clean", async () => {
  // Postgres now skips every message until a Sync, a ROLLBACK too.
  const begin = message("Q", cstr("begin"));
  const parse = message("P", Buffer.concat([cstr(""), cstr("select 1/$1::int"), Buffer.from([0, 0])]));
  // Bind with the text parameter 0: executing it would fail, and the session would then skip
  // everything until a Sync.
  const bind = message("B", Buffer.concat([cstr(""), cstr(""), Buffer.from([0, 0, 0, 1]), int32(1), Buffer.from("0"), Buffer.from([0, 0])]));
  const execute = message("E", Buffer.concat([cstr(""), int32(0)]));
  const flush = message("H");
  // Answered up to the error (ErrorResponse 'E' after ParseComplete '1' and BindComplete '2').
  const got = await raw([startup(), begin, Buffer.concat([parse, bind, execute, flush])], (b) => b.includes(Buffer.from("division by zero")));
  expect(got.toString("latin1")).toContain("division by zero");
  // The socket is gone now, inside its unit of work; another client's statements still answer.
  const sql = client();
  const [row] = await sql.unsafe("select $1::int + 1 as v", [41]);
  expect(row!.v).toBe(42);
  const [{ x }] = await sql<[{ x: string | null }]>`select txid_current_if_assigned()::text as x`;
  expect(x).toBeNull();
});

test("prepared statements of six clients do not mix, and a client's are deallocated when it goes", async () => {
  const watcher = client();
  const prepared = async () => (await watcher`select name from pg_prepared_statements order by name`).map((r) => String(r.name));
  const baseline = await prepared();
  const sqls = Array.from({ length: 6 }, client);
  await Promise.all(
    sqls.map(async (sql, c) => {
      for (let n = 0; n < 50; n++) {
        // Two statements a client, prepared once (named with the client's own prefix) and bound 50 times.
        const [row] = await sql.unsafe("select $1::int * 1000 + $2::int as v", [c, n], { prepare: true });
        expect(row!.v).toBe(c * 1000 + n);
        const [echo] = await sql`select ${`c${c}`}::text || '/' || ${n}::int as v`;
        expect(echo!.v).toBe(`c${c}/${n}`);
      }
    }),
  );
  expect((await prepared()).length).toBeGreaterThanOrEqual(baseline.length + 12);
  await Promise.all(sqls.map((sql) => sql.end()));
  let after = await prepared();
  for (let i = 0; i < 100 && after.length > baseline.length; i++) {
    await Bun.sleep(20);
    after = await prepared();
  }
  expect(after).toEqual(baseline);
}, 30_000);

test("statements pipelined on one connection are answered in order", async () => {
  const sql = client();
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => sql.unsafe("select $1::int * 2 as v", [i])));
  expect(answers.map(([r]) => r!.v)).toEqual(Array.from({ length: 200 }, (_, i) => i * 2));
});

test("a response larger than the socket takes at once arrives whole", async () => {
  const sql = client();
  const [row] = await sql.unsafe("select repeat('x', 8 * 1024 * 1024) as big, md5(repeat('x', 8 * 1024 * 1024)) as sum");
  expect(row!.big.length).toBe(8 * 1024 * 1024);
  expect(new Bun.CryptoHasher("md5").update(row!.big).digest("hex")).toBe(row!.sum);
});

test("one connection more than the server takes is refused with SQLSTATE 53300, and the others go on", async () => {
  const more = Array.from({ length: 40 }, client);
  const results = await Promise.allSettled(more.map((sql) => sql`select 1 as one`));
  const refused = results.filter((r) => r.status === "rejected");
  expect(refused.length).toBeGreaterThan(0);
  for (const r of refused) expect((r as PromiseRejectedResult).reason.code).toBe("53300");
  await Promise.all(more.map((c) => c.end({ timeout: 1 }).catch(() => {})));
  const [row] = await client()`select 2 as two`;
  expect(row!.two).toBe(2);
});

test("a client that goes away while its statement runs, leaving a transaction open, does not keep the session from the others", async () => {
  // The statement opens a transaction and runs for 300 ms; the socket closes meanwhile, so the
  // server learns of it before it knows the session is left inside a transaction.
  const socket = connect({ host: "127.0.0.1", port: pg.options.port! });
  await new Promise<void>((resolve) => socket.on("connect", () => resolve()));
  socket.write(startup());
  await Bun.sleep(50);
  socket.write(message("Q", cstr("begin; select pg_sleep(0.3)")));
  await Bun.sleep(50);
  socket.destroy();
  const sql = client();
  // Inside the abandoned transaction now() would stand still; each statement has its own here.
  const [a] = await sql`select now()::text as t`;
  await Bun.sleep(20);
  const [b] = await sql`select now()::text as t`;
  expect(b!.t).not.toBe(a!.t);
}, 15_000);
