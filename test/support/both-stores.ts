/**
 * Runs a suite on both stores: embedded PGlite, and (when it answers) the real PostgreSQL in a
 * fresh schema that is dropped afterwards.
 */
import { openStore, type Store } from "../../src/store/index.ts";
import { freshDatabaseUrl } from "./fresh-db.ts";
import { needs } from "./infra.ts";

export type OpenStore = () => Promise<{ store: Store; done: () => Promise<void> }>;

export async function onBothStores(suite: (name: string, open: OpenStore) => void): Promise<void> {
  suite("PGlite", async () => {
    const store = await openStore();
    return { store, done: () => store.close() };
  });
  if (await needs("postgres")) {
    suite("PostgreSQL", async () => {
      const db = await freshDatabaseUrl();
      const store = await openStore({ databaseUrl: db.url });
      return { store, done: async () => (await store.close(), await db.drop()) };
    });
  }
}
