/**
 * The store's health check (`Store.ping`, what /ready asks) on every store adapter: it answers
 * while the store is open, and rejects once it is closed, never hanging.
 */
import { describe, expect, test } from "bun:test";
import type { Store } from "../../src/store/index.ts";

export function pingConformance(name: string, open: () => Promise<Store>): void {
  describe(`store ping: ${name}`, () => {
    test("answers while open; rejects once closed", async () => {
      const store = await open();
      try {
        expect(await store.ping()).toBeUndefined();
      } finally {
        await store.close();
      }
      expect(await store.ping().then(() => "answered", () => "rejected")).toBe("rejected");
    });
  });
}
