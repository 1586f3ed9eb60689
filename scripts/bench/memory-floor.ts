/**
 * The floor under the gateway's idle memory, for scripts/bench/memory-idle.ts:
 * `bun scripts/bench/memory-floor.ts embedded|distributed` prints one JSON line, `{ rss_mb }`.
 *
 * The same shape as a gateway with nothing of ours running in it: the main thread with the
 * gateway's code loaded, four Workers with a stage's code loaded (one per stage, as
 * gateway/supervisor.ts starts them), and, embedded, PGlite started as the gateway starts it
 * (src/store/pglite.ts, an empty database with our settings). What the gateway holds above this is
 * ours: the stages' state, clients, buffers and caches, and the code the JIT compiled for them.
 */
import { startEmbedded } from "../../src/store/pglite.ts";
import { median, settledRss } from "./memory-idle.ts";

const STAGES = 4;
const mode = process.argv[2];
if (mode !== "embedded" && mode !== "distributed") throw new Error("usage: memory-floor.ts embedded|distributed");

await import("../../gateway/runtime.ts");
const workers = await Promise.all(
  Array.from({ length: STAGES }, async () => {
    const w = new Worker(new URL("./memory-floor-worker.ts", import.meta.url).href);
    await new Promise((resolve, reject) => {
      w.onmessage = resolve;
      w.onerror = (e) => reject(new Error(e.message));
    });
    return w;
  }),
);
const db = mode === "embedded" ? await startEmbedded() : undefined;
const samples = await settledRss(process.pid);
console.log(JSON.stringify({ rss_mb: median(samples) }));
await db?.stop();
for (const w of workers) w.terminate();
process.exit(0);
