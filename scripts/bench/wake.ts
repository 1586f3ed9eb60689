/**
 * The machine's floor under every hop between threads: how long a sleeping thread takes to run
 * after another wakes it. Two workers; 300 wake-ups 10 ms apart (so the woken thread is asleep
 * each time), timed from just before the wake to the woken thread's first statement after it:
 * - `futex`: the woken thread blocked in Atomics.wait, woken by Atomics.notify: the kernel's and
 *   the hypervisor's part alone;
 * - `post_message`: the woken thread's event loop idle, woken by a MessagePort message: Bun's
 *   way, and what an embedded stage hop pays twice (worker → main thread → worker).
 * A tick's way to a fill crosses about ten of these in series (docs/benchmarks.md, "What limits").
 * - `log_hop`: one hop as an embedded stage makes it, whole: a worker's producer sends one
 *   message every 10 ms to the in-process log on this thread, through the log's bridge, and
 *   another worker's consumer takes it up (timed from before the send to the consumer's batch).
 *   Four of these, with the stages' work and a ledger statement, are an embedded tick → fill.
 * - `ledger`: the embedded ledger statement alone, as the portfolio stage issues it for a fill
 *   (measureLedger): the last segment of an embedded tick → fill, one every 20 ms. The same into
 *   PostgreSQL (measureLedgerPg) is one of the Kafka floors (kafka-floors.ts).
 */
import postgres from "postgres";
import { serveLog } from "../../src/log/bridge/index.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { loadMigrations, migrate } from "../../src/store/migrate.ts";
import { startEmbedded } from "../../src/store/pglite.ts";
import type { LedgerStart } from "./ledger-worker.ts";
import { percentilesOfMs as quantiles, type Percentiles } from "./loadgen.ts";

export interface Wake {
  futex: Percentiles;
  post_message: Percentiles;
  log_hop?: Percentiles;
  /** measureLedger: the portfolio's ledger statement alone, from a worker to embedded PGlite. */
  ledger?: Percentiles;
}


export async function measureWake(samples = 300, intervalMs = 10): Promise<Wake> {
  const url = new URL("./wake-worker.ts", import.meta.url).href;
  const [waker, woken] = [new Worker(url), new Worker(url)];
  try {
    const sab = new SharedArrayBuffer(16);
    const { port1, port2 } = new MessageChannel();
    const result = new Promise<{ futex: number[]; posted: number[] }>((resolve, reject) => {
      woken.onerror = (e) => reject(new Error(e.message));
      waker.onerror = (e) => reject(new Error(e.message));
      woken.onmessage = (m) => {
        if (m.data === "ready") waker.postMessage({ role: "waker", sab, port: port1, samples, intervalMs }, [port1]);
        else resolve(m.data);
      };
    });
    woken.postMessage({ role: "woken", sab, port: port2, samples, intervalMs }, [port2]);
    const { futex, posted } = await Promise.race([result, Bun.sleep(samples * intervalMs * 4 + 10_000).then(() => Promise.reject(new Error("thread wake-up measurement timed out")))]);
    return { futex: quantiles(futex), post_message: quantiles(posted) };
  } finally {
    waker.terminate();
    woken.terminate();
  }
}

/** One hop through the in-process log, worker to worker, `samples` messages `intervalMs` apart. */
export async function measureLogHop(samples = 500, intervalMs = 10): Promise<Percentiles> {
  const url = new URL("./log-hop-worker.ts", import.meta.url).href;
  const log = new MemoryLog(new MemoryBroker());
  const topic = "bench.hop";
  await log.createTopics([{ name: topic, partitions: 6, retentionMs: -1 }]);
  const workers: Worker[] = [];
  const stops: Array<() => Promise<void>> = [];
  const start = (role: "producer" | "consumer") => {
    const w = new Worker(url);
    const { port1, port2 } = new MessageChannel();
    stops.push(serveLog(log, port1));
    w.postMessage({ role, port: port2, topic, samples, intervalMs }, [port2]);
    workers.push(w);
    return w;
  };
  try {
    const consumer = start("consumer");
    const result = new Promise<number[]>((resolve, reject) => {
      consumer.onerror = (e) => reject(new Error(e.message));
      consumer.onmessage = (m) => {
        if (m.data === "ready") start("producer").onerror = (e) => reject(new Error(e.message));
        else resolve((m.data as { ms: number[] }).ms);
      };
    });
    const ms = await Promise.race([result, Bun.sleep(samples * intervalMs * 4 + 10_000).then(() => Promise.reject(new Error("log hop measurement timed out")))]);
    return quantiles(ms);
  } finally {
    for (const w of workers) w.terminate();
    for (const stop of stops) await stop().catch(() => {});
    await log.close();
  }
}

/**
 * The embedded ledger statement alone: the portfolio stage's insert of one fill, from a worker over
 * its port to embedded PGlite's thread (as the stage makes it), one every `intervalMs` with nothing
 * else running. The last segment of every embedded tick → fill, and the floor under it.
 */
export async function measureLedger(samples = 300, intervalMs = 20): Promise<Percentiles> {
  const pg = await startEmbedded();
  try {
    const sql = postgres({ ...pg.options, onnotice: () => {} });
    try {
      await migrate(sql, await loadMigrations());
    } finally {
      await sql.end({ timeout: 5 });
    }
    const db = pg.connector();
    return await ledgerWorker({ db, options: pg.options, samples, intervalMs }, [db]);
  } finally {
    await pg.stop();
  }
}

/**
 * The same statement into PostgreSQL at `url` (a migrated schema of its own): the last segment of
 * every tick → fill on Kafka.
 */
export function measureLedgerPg(url: string, samples = 300, intervalMs = 20): Promise<Percentiles> {
  return ledgerWorker({ url, samples, intervalMs }, []);
}

async function ledgerWorker(start: LedgerStart, transfer: MessagePort[]): Promise<Percentiles> {
  const worker = new Worker(new URL("./ledger-worker.ts", import.meta.url).href);
  try {
    const result = new Promise<number[]>((resolve, reject) => {
      worker.onerror = (e) => reject(new Error(e.message));
      worker.onmessage = (m) => {
        const r = m.data as { ms?: number[]; error?: string };
        if (r.ms) resolve(r.ms);
        else reject(new Error(`ledger statement: ${r.error}`));
      };
    });
    worker.postMessage(start, transfer);
    const ms = await Promise.race([result, Bun.sleep(start.samples * start.intervalMs * 4 + 20_000).then(() => Promise.reject(new Error("ledger statement measurement timed out")))]);
    return quantiles(ms);
  } finally {
    worker.terminate();
  }
}
