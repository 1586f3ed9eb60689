/**
 * The risk stage's rows (src/store/risk-books.ts) on every store adapter: the day's end part
 * (intraday book, the day its square-off ran and its orders) reads back as written; a row that
 * holds only a day-end marker is kept (a restart must not square off twice), and one whose
 * day-end part is empty too is removed.
 */
import { describe, expect, test } from "bun:test";
import type { Store } from "../../src/store/index.ts";
import { loadRiskBooks, saveRiskBooks, type SavedRiskBook } from "../../src/store/risk-books.ts";
import { suiteStore } from "./suite-store.ts";

const empty = (token: number, day_end: Record<string, unknown>): SavedRiskBook => ({
  token,
  day: "2025-01-06",
  day_open: 0,
  positions: [],
  orders_today: {},
  recent: [],
  fill: null,
  signal: null,
  clock: 1736157000000,
  day_end,
});

export function riskBooksConformance(name: string, open: () => Promise<Store>): void {
  describe(`risk books, the day's end: ${name}`, () => {
    const opened = suiteStore(open);

    test("the day-end part reads back as written; a row with only a day-end marker is kept, one with nothing is removed", async () => {
      const marked = { done: { day: "2025-01-06", orders: ["0194f0a0-0000-7000-8000-000000000001"] } };
      const held = { intraday: { mom: 10, rev: -5 }, done: { day: "2025-01-06", orders: [] } };
      await saveRiskBooks(opened.db, "paper", [empty(738561, marked), { ...empty(2953217, held), positions: [{ strategy_id: "mom", quantity: 10 }] }]);
      expect((await loadRiskBooks(opened.db, "paper")).map((r) => [r.token, r.day_end])).toEqual([
        [738561, marked],
        [2953217, held],
      ]);
      await saveRiskBooks(opened.db, "paper", [empty(738561, {})]);
      expect((await loadRiskBooks(opened.db, "paper")).map((r) => r.token)).toEqual([2953217]);
      await opened.db.query("delete from risk_books");
    });
  });
}
