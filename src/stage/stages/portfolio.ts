/**
 * The portfolio stage. The fills of a batch are written to the PostgreSQL ledger keyed by their
 * event ids (one statement at the end of the batch: a redelivered fill inserts nothing and changes
 * nothing), then those inserted are applied to the positions (src/portfolio), in order, and the
 * positions written to the cache under `{broker}:positions` (the read model, with its keys and
 * readers: src/portfolio/read-model.ts). Ticks mark positions to market. (A fill and a mark
 * commute: a position's quantity, cost basis and realised P&L come from fills alone, its
 * unrealised P&L from those and the last mark; so applying a batch's fills after its ticks gives
 * the same state as one by one.) The stage also
 * publishes `{broker}.pnl.snapshots` whenever the event time of the ticks it handles crosses a
 * 5 s boundary, stamped with that boundary. (The orders read model is kept beside it, in the
 * same worker, by the orders stage: src/stage/stages/orders.ts.) At start, and whenever its
 * partitions change, it rebuilds the positions from the ledger, each instrument marked at its
 * last fill until its next tick: a restart gives the same portfolio, from the ledger and the log
 * alone. After writing them all it writes `{broker}:positions:built`; checked every second, a
 * missing marker means the cache lost the read model (a Redis flush or restart), and the
 * positions are written again from the ledger.
 */
import type { Broker } from "../../config.ts";
import { ENVELOPE_VERSION, type AnyEnvelope, type Envelope } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import type { PayloadOf } from "../../events/payloads.ts";
import { tickTimeMs } from "../../events/time.ts";
import type { Consumer } from "../../log/port.ts";
import { evolveInPlace, initialPortfolio, mark, markInPlace, positionKey, rebuild, type PortfolioState } from "../../portfolio/index.ts";
import { positionsBuiltKey, positionsKey, portfolioTotals } from "../../portfolio/read-model.ts";
import { ledgerFills, recordFills } from "../../store/ledger.ts";
import { brokerOfTopic, topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import { LatencyWindow, uuidv7Time } from "../latency.ts";
import type { Outgoing } from "../processor.ts";
import type { Stage } from "../stage.ts";
import { MARKS_EVERY_MS, PositionWrites } from "./portfolio-writes.ts";

export { MARKS_EVERY_MS } from "./portfolio-writes.ts";
/** The event-time interval of `{broker}.pnl.snapshots`: one at each multiple of it the ticks cross. */
export const SNAPSHOT_EVERY_MS = 5_000;

/**
 * The snapshot at `boundary` (ms since the epoch) of `broker`: a UUIDv7 of that time, the same
 * whoever publishes it and however often (a republished one is dropped downstream as a duplicate).
 */
export function snapshotId(broker: Broker, boundary: number): string {
  return derivedId(boundary.toString(16).padStart(12, "0"), `pnl.snapshot/${broker}`);
}

export async function portfolioStage(ctx: StageContext): Promise<Stage> {
  const brokers = ctx.config.activeBrokers;
  const state = new Map<Broker, PortfolioState>();
  const writes = new PositionWrites(ctx.cache, brokers, (b) => state.get(b)!);
  let owned: string | undefined;
  let ownsSnapshot = new Set<Broker>(brokers);
  const tickToFill = new LatencyWindow();
  // The batch's fills, for the ledger and then the positions, after it.
  const fills: Array<{ e: AnyEnvelope & { type: "order.filled" }; broker: Broker }> = [];

  /** Writes the batch's fills to the ledger (one statement) and applies the new ones, in order. */
  async function applyFills(): Promise<boolean> {
    if (fills.length === 0) return false;
    // One transaction: it inserted these, or (when it threw) nothing, and then the fills stay
    // here for the retry.
    const inserted = await recordFills(
      ctx.db,
      fills.map(({ e, broker }) => ({ event_id: e.id, broker, filled_at: e.ts, fill: e.data })),
    );
    for (const { e, broker } of fills) {
      if (!inserted.delete(e.id.toLowerCase())) continue; // a fill the ledger has: applied before
      const f = e.data;
      state.set(broker, evolveInPlace(state.get(broker)!, f));
      writes.filled(broker, positionKey(f.strategy_id, f.instrument_token));
      // The chain started at the tick (its id, a UUIDv7, is the correlation id): tick → fill.
      tickToFill.recordSince(uuidv7Time(e.correlation_id));
    }
    fills.length = 0;
    return true;
  }

  /**
   * The broker's portfolio from the ledger, marked at `marks` (token → last price, paise) where
   * given, else at the instrument's last fill (the last price of it the ledger knows).
   */
  async function fromLedger(b: Broker, marks: Record<string, number>): Promise<{ portfolio: PortfolioState; fills: number }> {
    const fills = await ledgerFills(ctx.db, b);
    let portfolio = fills.length > 0 ? rebuild(fills, { broker: b, starting_cash: ctx.config.startingCash }) : initialPortfolio({ broker: b, starting_cash: ctx.config.startingCash });
    // Every known last price, not only those of held instruments: a later first fill is then
    // marked at the market, as it is in the live path.
    const last: Record<string, number> = {};
    for (const f of fills) last[String(f.instrument_token)] = f.fill_price;
    Object.assign(last, marks);
    for (const [token, price] of Object.entries(last)) portfolio = mark(portfolio, { instrument_token: Number(token), last_price: price });
    return { portfolio, fills: fills.length };
  }

  /**
   * Writes the broker's positions but those in `present` (the hash as read before the ledger was:
   * a position its owner wrote meanwhile is newer than ours), then the marker that says the read
   * model is whole.
   */
  async function publish(b: Broker, portfolio: PortfolioState, present: Record<string, string> = {}): Promise<number> {
    const fields: Record<string, string> = {};
    for (const [key, p] of Object.entries(portfolio.positions)) if (!Object.hasOwn(present, key)) fields[key] = JSON.stringify(p);
    if (Object.keys(fields).length > 0) await ctx.cache.hset(positionsKey(b), fields);
    await ctx.cache.set(positionsBuiltKey(b), new Date().toISOString());
    return Object.keys(fields).length;
  }

  async function load(): Promise<void> {
    for (const b of brokers) {
      const { portfolio, fills } = await fromLedger(b, {});
      state.set(b, portfolio);
      const positions = await publish(b, portfolio);
      ctx.logger.info({ broker: b, fills, positions }, "portfolio rebuilt from the ledger");
    }
  }

  /**
   * The cache lost the read model (a Redis flush or restart: the marker is gone). The positions
   * are written again from the ledger, marked at the prices this worker knows. The stage's own
   * state is left as it is: it is right (a fill is applied only once the ledger has it), and
   * replacing it while a batch is between its ledger write and applying its fills would apply
   * them twice.
   */
  async function recover(b: Broker): Promise<void> {
    const t0 = Date.now();
    const marks = state.get(b)!.marks;
    const present = await ctx.cache.hgetall(positionsKey(b));
    const { portfolio, fills } = await fromLedger(b, marks);
    const positions = await publish(b, portfolio, present);
    ctx.logger.warn({ broker: b, fills, positions, ms: Date.now() - t0 }, "the cache had lost the portfolio read model: rewritten from the ledger");
  }

  /** How often the marker is checked: how soon a flushed read model is noticed. */
  const CHECK_EVERY_MS = 1_000;
  let checkedAt = Date.now();
  async function checkReadModel(): Promise<void> {
    checkedAt = Date.now();
    for (const b of brokers) if ((await ctx.cache.get(positionsBuiltKey(b))) === null) await recover(b);
  }

  /**
   * The snapshots at event time `boundary`, of the portfolio as the events before the tick that
   * crossed it left it: the batch's fills so far are applied first, and this worker's positions
   * written, so that the read model's totals (every worker's positions) hold them. Stamped with
   * the boundary, their ids derived from it: the same input gives the same snapshots.
   */
  async function snapshotsAt(boundary: number): Promise<Outgoing[]> {
    await applyFills();
    await writes.write(false);
    const ts = new Date(boundary).toISOString();
    const out: Outgoing[] = [];
    for (const b of ownsSnapshot) {
      const t = await portfolioTotals(ctx.cache, b, ctx.config.startingCash);
      if (!t) continue; // rebuilding after a cache flush: no snapshot of a partial read model
      const data: PayloadOf<"pnl.snapshot"> = { broker: b, cash: t.cash, realised_pnl: t.realised_pnl, unrealised_pnl: t.unrealised_pnl, fees: t.fees, positions: t.open_positions };
      const id = snapshotId(b, boundary);
      const event: Envelope<"pnl.snapshot"> = {
        id, type: "pnl.snapshot", ts, correlation_id: id, causation_id: null, trace_id: id, source: "portfolio", version: ENVELOPE_VERSION, broker: b, key: b, data,
      };
      out.push({ topic: topicName("pnlSnapshots", b), event });
    }
    return out;
  }

  /** The event-time window (of SNAPSHOT_EVERY_MS) of the latest tick handled; unset until the first tick after a start. */
  let snapshotWindow: number | undefined;

  /** Between batches (a market gone quiet): what waited for MARKS_EVERY_MS, and the marker check. */
  async function periodic(): Promise<void> {
    const due = writes.due(false);
    if (Date.now() - checkedAt >= CHECK_EVERY_MS) due.push(checkReadModel());
    await Promise.all(due);
  }

  function markTick(e: Envelope<"market.tick">): void {
    const token = String(e.data.instrument_token);
    for (const [b, portfolio] of state) {
      // Marked even with no position yet, so the first fill's unrealised P&L uses the market.
      // In place: the stage keeps only the latest state (a copy per tick would cost O(positions)).
      state.set(b, markInPlace(portfolio, e.data));
      for (const k of portfolio.by_instrument[token] ?? []) writes.marked(b, k);
    }
  }

  // Rebuilt now, not at the first batch: a quiet market must still show the portfolio.
  await load();

  const fillTopics = brokers.map((b) => topicName("ordersFilled", b));

  return {
    // Every input is idempotent here, so none is deduplicated by id (two cache round trips a
    // batch saved): a tick sets a mark; a fill is applied only if the ledger inserted it (keyed by
    // its event id).
    idempotentTopics: [topicName("marketTicks"), ...fillTopics],
    // A tick only sets a mark: the latest one is the one that counts.
    conflation: { topics: [topicName("marketTicks")] },
    topics: [topicName("marketTicks"), ...fillTopics],
    async onBatch(consumer: Consumer) {
      const assigned = consumer.assignments();
      const now = JSON.stringify(assigned.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition));
      if (now === owned) return;
      const first = owned === undefined;
      owned = now;
      // One worker per broker publishes snapshots: the owner of partition 0 of its fills topic.
      ownsSnapshot = new Set(brokers.filter((b) => assigned.some((a) => a.topic === topicName("ordersFilled", b) && a.partition === 0)));
      // Partitions moved: positions another worker kept may have changed; the ledger has them all.
      if (!first) await load();
    },
    async afterBatch() {
      const filled = await applyFills();
      await Promise.all(writes.due(filled));
    },
    handle(e, m) {
      if (e.type === "market.tick") {
        // Event time crossing a boundary (ticks of several partitions may come out of order: the
        // latest window seen counts) publishes the snapshot at the latest boundary crossed; the
        // first tick after a start only sets the window (a quiet gap gives one snapshot, not one
        // per empty window).
        const w = Math.floor(tickTimeMs(e) / SNAPSHOT_EVERY_MS);
        if (snapshotWindow === undefined || w <= snapshotWindow || ownsSnapshot.size === 0) {
          if (snapshotWindow === undefined || w > snapshotWindow) snapshotWindow = w;
          markTick(e);
          return [];
        }
        // The window moves only once the snapshots are made: a retried tick makes them again.
        return snapshotsAt(w * SNAPSHOT_EVERY_MS).then((out) => {
          snapshotWindow = w;
          markTick(e);
          return out;
        });
      }
      const broker = brokerOfTopic(m.topic);
      if (broker === "shared" || !state.has(broker)) return [];
      if (e.type === "order.filled") fills.push({ e, broker });
      return [];
    },
    every: { ms: MARKS_EVERY_MS, run: periodic },
    tickToFill,
  };
}
