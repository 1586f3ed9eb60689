/**
 * A store of its own for one repository's conformance suite: opened before the suite's tests,
 * closed after them. Call it inside the suite's `describe`.
 */
import { afterAll, beforeAll } from "bun:test";
import { sqlDb, type Db } from "../../src/store/db.ts";
import type { Store } from "../../src/store/index.ts";

/**
 * @example
 * const opened = suiteStore(open);
 * test("…", async () => { await recordFills(opened.db, fills); });
 */
export function suiteStore(open: () => Promise<Store>): { readonly store: Store; readonly db: Db } {
  const handles = {} as { store: Store; db: Db };
  beforeAll(async () => {
    handles.store = await open();
    handles.db = sqlDb(handles.store.sql);
  });
  afterAll(async () => {
    await handles.store?.close();
  });
  return handles;
}

/**
 * The SQLSTATE a statement was refused with; undefined when it succeeded.
 *
 * @example
 * expect(await sqlState(insertApiKey(sql, duplicate))).toBe("23505");
 */
export function sqlState(statement: Promise<unknown>): Promise<string | undefined> {
  return statement.then(
    () => undefined,
    (err: unknown) => (err as { code?: string }).code,
  );
}
