/**
 * The fill ledger's repository (src/store/ledger.ts) on every store adapter: a batch is recorded
 * in one statement in its order; a fill recorded before (by event id, or by broker and fill id) is
 * not recorded again and not returned; a batch that fails records nothing; a broker's fills read
 * back in order with the values written.
 */
import { describe, expect, test } from "bun:test";
import type { Broker } from "../../src/config.ts";
import { newId } from "../../src/events/ids.ts";
import type { PayloadOf } from "../../src/events/payloads.ts";
import type { Store } from "../../src/store/index.ts";
import { sqlState, suiteStore } from "./suite-store.ts";
import { ledgerFills, recordFills, type NewLedgerFill } from "../../src/store/ledger.ts";

function fill(broker: Broker, over: Partial<PayloadOf<"order.filled">> = {}): NewLedgerFill {
  const orderId = newId();
  return {
    event_id: newId(),
    broker,
    filled_at: "2026-12-07T09:15:00.123Z",
    fill: {
      order_id: orderId,
      signal_id: orderId,
      strategy_id: "momentum_fast",
      instrument_token: 738561,
      side: "BUY",
      quantity: 2,
      order_type: "MARKET",
      fill_id: `f-${orderId}`,
      fill_quantity: 2,
      fill_price: 129_045,
      filled_quantity: 2,
      fees: 37,
      status: "FILLED",
      ...over,
    },
  };
}

/** What the ledger gives back for a fill written. */
const entry = (f: NewLedgerFill) => ({
  fill_id: f.fill.fill_id,
  order_id: f.fill.order_id,
  strategy_id: f.fill.strategy_id,
  instrument_token: f.fill.instrument_token,
  side: f.fill.side,
  fill_quantity: f.fill.fill_quantity,
  fill_price: f.fill.fill_price,
  fees: f.fill.fees,
});

export function ledgerConformance(name: string, open: () => Promise<Store>): void {
  describe(`fill ledger: ${name}`, () => {
    const opened = suiteStore(open);

    test("a batch is recorded in its order and read back per broker with the values written", async () => {
      const first = fill("paper", { side: "SELL", instrument_token: 4_294_967_295, fill_price: 9_007_199_254_740_991, fees: 0 });
      const second = fill("paper", { fill_quantity: 1, fill_price: 5 });
      const elsewhere = fill("zerodha");
      // Ids in the opposite order to the batch: the ledger's order is the batch's, not the ids'.
      const [low, high] = [first.event_id, second.event_id].sort();
      first.event_id = high!;
      second.event_id = low!;
      const inserted = await recordFills(opened.db, [first, elsewhere, second]);
      expect(inserted).toEqual(new Set([first.event_id, second.event_id, elsewhere.event_id]));
      expect(await ledgerFills(opened.db, "paper")).toEqual([entry(first), entry(second)]);
      expect(await ledgerFills(opened.db, "zerodha")).toEqual([entry(elsewhere)]);
      const [row] = await opened.store.sql<{ filled_at: Date }[]>`select filled_at from ledger_fills where event_id = ${first.event_id}`;
      expect(row?.filled_at.toISOString()).toBe("2026-12-07T09:15:00.123Z");
    });

    test("a fill recorded before is not recorded again nor returned, by event id (any case) or by its broker's fill id", async () => {
      const old = fill("paper");
      await recordFills(opened.db, [old]);
      const fresh = fill("paper");
      const sameFill = { ...fill("paper"), fill: { ...old.fill } };
      const inserted = await recordFills(opened.db, [{ ...old, event_id: old.event_id.toUpperCase() }, sameFill, fresh]);
      expect(inserted).toEqual(new Set([fresh.event_id]));
      const mine = (await ledgerFills(opened.db, "paper")).filter((f) => f.fill_id === old.fill.fill_id || f.fill_id === fresh.fill.fill_id);
      expect(mine).toEqual([entry(old), entry(fresh)]);
      expect(await recordFills(opened.db, [])).toEqual(new Set());
    });

    test("a batch one of whose fills the table refuses records none of them", async () => {
      const good = fill("paper");
      const bad = fill("paper", { fill_quantity: 0 });
      expect(await sqlState(recordFills(opened.db, [good, bad]))).toBe("23514");
      expect((await ledgerFills(opened.db, "paper")).some((f) => f.fill_id === good.fill.fill_id)).toBe(false);
    });
  });
}
