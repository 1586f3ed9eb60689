/**
 * The orders read model, written a batch at a time in one statement, against a real database
 * (embedded PGlite, and PostgreSQL): whatever the batching and however often events are
 * redelivered, the rows equal applying each event once, one by one, by the documented rules.
 */
import { describe, expect, test } from "bun:test";
import type { AnyEnvelope } from "../../src/events/envelope.ts";
import { projectOrders } from "../../src/stage/stages/orders-projection.ts";
import { sqlDb } from "../../src/store/db.ts";
import { onBothStores } from "../support/both-stores.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const FINAL = new Set(["FILLED", "REJECTED", "CANCELLED", "FAILED"]);
const RANK: Record<string, number> = { PENDING: 0, OPEN: 1, PARTIALLY_FILLED: 2 };
const rank = (s: string) => RANK[s] ?? 3;

interface Row {
  order_id: string;
  status: string;
  filled_quantity: number;
  filled_value: number;
  reason_code: string | null;
  message: string | null;
  quantity: number;
  strategy_id: string;
}

/** The rules, one event at a time (the reference the batched statement is held to). */
function reference(events: AnyEnvelope[]): { rows: Map<string, Row>; recorded: number } {
  const seen = new Set<string>();
  const rows = new Map<string, Row>();
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    if (e.type === "order.cancel_rejected") continue;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const d = e.data as unknown as Record<string, any>;
    const status =
      e.type === "signal.generated" || e.type === "signal.validated" ? "PENDING"
      : e.type === "signal.rejected" || e.type === "order.rejected" ? "REJECTED"
      : e.type === "order.submitted" ? "OPEN"
      : e.type === "order.filled" ? (d.status as string)
      : e.type === "order.cancelled" ? "CANCELLED"
      : "FAILED";
    const fq = e.type === "order.filled" ? (d.fill_quantity as number) : 0;
    const fv = e.type === "order.filled" ? (d.fill_quantity as number) * (d.fill_price as number) : 0;
    const id = (d.order_id as string | undefined) ?? (d.signal_id as string);
    const old = rows.get(id);
    if (!old) {
      rows.set(id, { order_id: id, status, filled_quantity: fq, filled_value: fv, reason_code: d.reason_code ?? null, message: d.message ?? null, quantity: d.quantity as number, strategy_id: d.strategy_id as string });
      continue;
    }
    old.status = FINAL.has(old.status) ? old.status : rank(status) >= rank(old.status) ? status : old.status;
    old.filled_quantity += fq;
    old.filled_value += fv;
    old.reason_code = d.reason_code ?? old.reason_code;
    old.message = d.message ?? old.message;
  }
  return { rows, recorded: seen.size };
}

/** A seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ["signal.generated", "signal.validated", "signal.rejected", "order.submitted", "order.filled", "order.filled", "order.cancelled", "order.failed", "order.rejected", "order.cancel_rejected"] as const;

function events(rnd: () => number, n: number): AnyEnvelope[] {
  const out: AnyEnvelope[] = [];
  for (let i = 0; i < n; i++) {
    const type = TYPES[Math.floor(rnd() * TYPES.length)]!;
    const order = `ord-${Math.floor(rnd() * 4)}`;
    const id = `01930000-0000-7000-8000-${String(i).padStart(12, "0")}`;
    const base = { signal_id: order, order_id: order, strategy_id: `s${Math.floor(rnd() * 2)}`, instrument_token: 738561, side: "BUY", quantity: 1 + Math.floor(rnd() * 9), order_type: "MARKET" };
    const data: Record<string, unknown> =
      type === "order.cancel_rejected" ? { order_id: order, reason_code: "NOT_OPEN", message: "not open" }
      : type === "order.filled" ? { ...base, fill_id: `f${i}`, fill_quantity: 1 + Math.floor(rnd() * 3), fill_price: 100 + Math.floor(rnd() * 1000), filled_quantity: 1, fees: 0, status: rnd() < 0.5 ? "FILLED" : "PARTIALLY_FILLED" }
      : type === "signal.rejected" || type === "order.rejected" || type === "order.failed" ? { ...base, reason_code: `R${i}`, message: `m${i}`, checks: [] }
      : type.startsWith("signal.") ? { ...base, ...(type === "signal.generated" ? { order_id: undefined } : {}), checks: [] }
      : { ...base };
    if (data.order_id === undefined) delete data.order_id;
    out.push({ id, type, ts: new Date(Date.UTC(2026, 11, 2, 9, 15, 0, i)).toISOString(), correlation_id: id, causation_id: null, trace_id: id, source: "test", version: 1, broker: "paper", key: "738561", data } as AnyEnvelope);
  }
  return out;
}

await onBothStores((name, open) => {
  describe(`orders projection: ${name}`, () => {
    test("batched, redelivered and reordered-by-batch events give the rows of one-by-one application", async () => {
      const { store, done } = await open();
      try {
        const db = sqlDb(store.sql);
        for (let seed = 1; seed <= 12; seed++) {
          await store.sql.unsafe("delete from order_events; delete from orders");
          const rnd = random(seed);
          const all = events(rnd, 40);
          // Delivered in random batches; some batches are delivered again (a redelivery), some
          // events twice within a batch.
          const delivered: AnyEnvelope[] = [];
          let i = 0;
          while (i < all.length) {
            const size = 1 + Math.floor(rnd() * 12);
            const batch = all.slice(i, i + size);
            if (rnd() < 0.3 && batch.length > 0) batch.push(batch[0]!);
            await projectOrders(db, batch);
            delivered.push(...batch);
            if (rnd() < 0.3) await projectOrders(db, batch);
            i += size;
          }
          const want = reference(delivered);
          const got = await store.sql.unsafe<Row[]>(
            "select order_id, status, filled_quantity, filled_value::int as filled_value, reason_code, message, quantity, strategy_id from orders order by order_id",
          );
          expect({ seed, rows: got.map((r) => ({ ...r })) }).toEqual({ seed, rows: [...want.rows.values()].sort((a, b) => a.order_id.localeCompare(b.order_id)) });
          const [{ n }] = await store.sql.unsafe<[{ n: number }]>("select count(*)::int as n from order_events");
          expect(n).toBe(want.recorded);
        }
      } finally {
        await done();
      }
    }, 60_000);

    test("send deadlines: a late copy refused by risk shows FAILED SEND_TIMEOUT; a copy judged in time takes a timed-out order on; a refused duplicate never moves a live order", async () => {
      const { store, done } = await open();
      try {
        const db = sqlDb(store.sql);
        let n = 0;
        const ev = (type: string, order: string, extra: Record<string, unknown> = {}) =>
          ({
            id: `01930000-0000-7000-9000-${String(++n).padStart(12, "0")}`,
            type,
            ts: new Date(Date.UTC(2026, 11, 2, 9, 15, 0, n)).toISOString(),
            correlation_id: order,
            causation_id: null,
            trace_id: order,
            source: "test",
            version: 1,
            broker: "paper",
            key: "738561",
            data: { signal_id: order, strategy_id: "manual", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", checks: [], ...extra },
          }) as unknown as AnyEnvelope;
        const refusal = (order: string) => ev("signal.rejected", order, { reason_code: "SEND_TIMEOUT", message: "reached risk after its send deadline" });
        const row = async (order: string) => (await store.sql`select status, reason_code from orders where order_id = ${order}`)[0];
        const placed = (order: string) => store.sql`insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, status, correlation_id)
                                                    values (${order}, 'paper', 'manual', 738561, 'BUY', 1, 'MARKET', 'PENDING', ${order})`;

        // The relay could not send it in time; a copy reached the log anyway and risk refused it.
        await placed("late");
        await projectOrders(db, [refusal("late")]);
        expect(await row("late")).toMatchObject({ status: "FAILED", reason_code: "SEND_TIMEOUT" });

        // The relay ended it, but risk had judged a copy in time: the pipeline is the truth.
        await placed("in-doubt");
        await store.sql`update orders set status = 'FAILED', reason_code = 'SEND_TIMEOUT' where order_id = 'in-doubt'`;
        await projectOrders(db, [ev("signal.validated", "in-doubt")]);
        await projectOrders(db, [ev("order.submitted", "in-doubt", { order_id: "in-doubt" })]);
        expect(await row("in-doubt")).toMatchObject({ status: "OPEN", reason_code: null });

        // A duplicate copy refused later (its dedup forgotten) does not move a live order...
        await projectOrders(db, [refusal("in-doubt")]);
        expect(await row("in-doubt")).toMatchObject({ status: "OPEN", reason_code: null });
        // ... nor one validated in the same batch.
        await placed("same-batch");
        await projectOrders(db, [ev("signal.validated", "same-batch"), refusal("same-batch")]);
        expect(await row("same-batch")).toMatchObject({ status: "PENDING", reason_code: null });
        // Another rejection is a REJECTED as before.
        await placed("limits");
        await projectOrders(db, [ev("signal.rejected", "limits", { reason_code: "MAX_QUANTITY", message: "too many" })]);
        expect(await row("limits")).toMatchObject({ status: "REJECTED", reason_code: "MAX_QUANTITY" });
      } finally {
        await done();
      }
    }, 60_000);

    test("two projections at once, folding different events of the same new orders, neither fails and every fill is counted once", async () => {
      const { store, done } = await open();
      try {
        const db = sqlDb(store.sql);
        for (let seed = 1; seed <= 8; seed++) {
          await store.sql.unsafe("delete from order_events; delete from orders");
          const all = events(random(seed), 60);
          // As when two processes own different topics' partitions: each gets its own share.
          const mine = all.filter((_, i) => i % 2 === 0);
          const theirs = all.filter((_, i) => i % 2 === 1);
          for (let i = 0; i < mine.length; i += 6) await Promise.all([projectOrders(db, mine.slice(i, i + 6)), projectOrders(db, theirs.slice(i, i + 6))]);
          const got = await store.sql.unsafe<Row[]>("select order_id, status, filled_quantity, filled_value::int as filled_value from orders order by order_id");
          // Which of two concurrent events came first is not known: the fills add up either way.
          const want = reference(all);
          expect({ seed, rows: got.map((r) => ({ order_id: r.order_id, filled_quantity: r.filled_quantity, filled_value: r.filled_value })) }).toEqual({
            seed,
            rows: [...want.rows.values()].map((r) => ({ order_id: r.order_id, filled_quantity: r.filled_quantity, filled_value: r.filled_value })).sort((a, b) => a.order_id.localeCompare(b.order_id)),
          });
        }
      } finally {
        await done();
      }
    }, 60_000);

    test("an empty batch, and one of events that are not order events, write nothing", async () => {
      const { store, done } = await open();
      try {
        const db = sqlDb(store.sql);
        await projectOrders(db, []);
        const tick = { id: "01930000-0000-7000-8000-000000000001", type: "market.tick", ts: "2026-12-02T09:15:00.000Z", broker: "shared", data: {} } as AnyEnvelope;
        await projectOrders(db, [tick]);
        const [{ n }] = await store.sql.unsafe<[{ n: number }]>("select count(*)::int as n from order_events");
        expect(n).toBe(0);
      } finally {
        await done();
      }
    }, 60_000);
  });
});
