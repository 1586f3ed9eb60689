/**
 * Several clients on embedded PGlite's one session (src/store/pglite-session.ts): the gateway's
 * and each stage worker's postgres.js connect to the same socket server. Their statements must
 * not interleave inside the extended protocol's Parse … Sync, and a transaction keeps the
 * session until it ends.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres, { type Sql } from "postgres";
import { startEmbedded, type Embedded } from "../../src/store/pglite.ts";

let pg: Embedded;
const clients: Sql[] = [];
const client = () => {
  const sql = postgres({ ...pg.options, onnotice: () => {} });
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
  await b`insert into t values (400, 1, 'b', '{}')`;
  const rows = await b`select client from t order by client`;
  expect(rows.map((r) => r.client)).toEqual([400]);
  // No transaction was left open on the session: a lone select has no transaction id of its own.
  const [{ x }] = await b<[{ x: string | null }]>`select txid_current_if_assigned()::text as x`;
  expect(x).toBeNull();
}, 30_000);
