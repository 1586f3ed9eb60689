/**
 * scripts/bench/wake.ts's ledger floors: the portfolio stage's ledger statement (one fill), issued
 * from a worker every `intervalMs`, as the stage does: over its port to embedded PGlite's thread
 * (`db`), or to PostgreSQL (`url`, the distributed mode).
 */
import postgres from "postgres";
import { LEDGER_INSERT } from "../../src/store/ledger.ts";
import { sqlDb } from "../../src/store/db.ts";
import { overPort } from "../../src/store/pglite-port.ts";
import type { EmbeddedOptions } from "../../src/store/pglite.ts";

declare const self: Worker;

export type LedgerStart = ({ db: MessagePort; options: EmbeddedOptions } | { url: string }) & {
  samples: number;
  intervalMs: number;
};

self.onmessage = async (e: MessageEvent<LedgerStart>) => {
  const { samples, intervalMs } = e.data;
  const sql =
    "url" in e.data
      ? postgres(e.data.url, { max: 1, onnotice: () => {} })
      : postgres({ ...e.data.options, onnotice: () => {}, ...overPort(e.data.db) });
  const db = sqlDb(sql);
  const fill = (i: number) => [[crypto.randomUUID()], ["paper"], [`bench-fill-${i}`], [`bench-order-${i}`], ["bench"], [408065], [i % 2 ? "SELL" : "BUY"], [1], [128_970], [20], [new Date().toISOString()]];
  const ms: number[] = [];
  try {
    // The first statements prepare it and warm the path; not samples.
    for (let i = 0; i < 20; i++) await db.query(LEDGER_INSERT, fill(-1 - i));
    for (let i = 0; i < samples; i++) {
      await Bun.sleep(intervalMs);
      const args = fill(i);
      const t = performance.now();
      const rows = await db.query(LEDGER_INSERT, args);
      ms.push(performance.now() - t);
      if (rows.length !== 1) throw new Error(`the ledger insert returned ${rows.length} rows, not 1`);
    }
    self.postMessage({ ms });
  } catch (err) {
    self.postMessage({ error: (err as Error).message });
  } finally {
    await sql.end({ timeout: 5 });
  }
};
