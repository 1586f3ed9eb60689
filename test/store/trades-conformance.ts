/**
 * The trades read of the ledger (src/store/ledger.ts) on every store adapter: a broker's fills,
 * newest first, as many as asked, with money as integer paise.
 */
import { describe, expect, test } from "bun:test";
import { suiteStore } from "./suite-store.ts";
import { newId } from "../../src/events/ids.ts";
import type { Store } from "../../src/store/index.ts";
import { recentTrades } from "../../src/store/ledger.ts";

export function tradesConformance(name: string, open: () => Promise<Store>): void {
  describe(`trades: ${name}`, () => {
    const opened = suiteStore(open);

    test("a broker's fills, newest first, at most `limit`, money in paise", async () => {
      const fill = async (broker: string, fillId: string, price: number) => {
        const eventId = newId();
        await opened.store.sql`insert into ledger_fills (event_id, broker, fill_id, order_id, strategy_id, instrument_token, side, quantity, price, fees, filled_at)
                        values (${eventId}, ${broker}, ${fillId}, ${`o-${fillId}`}, 'momentum_fast', 4294967295, 'SELL', 3, ${price}, 236, '2026-12-07T09:15:00.123Z')`;
        return eventId;
      };
      const first = await fill("paper", "f1", 245_135);
      await fill("zerodha", "z1", 100);
      const second = await fill("paper", "f2", 9_007_199_254_740_991);
      const third = await fill("paper", "f3", 1);

      expect((await recentTrades(opened.store.sql, "paper", 10)).map((t) => t.event_id)).toEqual([third, second, first]);
      const [newest, next] = await recentTrades(opened.store.sql, "paper", 2);
      expect(next).toEqual({
        fill_id: "f2",
        event_id: second,
        order_id: "o-f2",
        broker: "paper",
        strategy_id: "momentum_fast",
        instrument_token: 4_294_967_295,
        side: "SELL",
        quantity: 3,
        price: 9_007_199_254_740_991,
        fees: 236,
        ts: "2026-12-07T09:15:00.123Z",
      });
      expect(newest!.fill_id).toBe("f3");
      expect((await recentTrades(opened.store.sql, "zerodha", 10)).map((t) => t.fill_id)).toEqual(["z1"]);
    });
  });
}
