/**
 * `bun run faults`: the fault harness (test/faults/) on its private Kafka, PostgreSQL and Redis
 * (INFRA_PROFILE=faults; started if not running, stopped after if it started them). Runs every
 * scenario, prints one table (a row per fault, a column per count), writes faults-results.json,
 * and exits 1 if any fault lost, doubled or stuck an order, showed a mismatch, a 5xx other than
 * 503, a wrong DLQ count, or took more than 10 s to recover.
 *
 *   bun run faults                 every scenario
 *   bun run faults --only none,b   some of them (ids: none, a, b, c, d, e, f, g)
 */
import { FLOW, killGateways, runScenario, type Result } from "../test/faults/harness.ts";
import { explain, table, writeResults } from "../test/faults/report.ts";
import { SCENARIOS } from "../test/faults/scenarios.ts";
import { privateServices, releasePrivateServices } from "../test/faults/services.ts";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const onlyArg = args.indexOf("--only");
const only = onlyArg >= 0 ? new Set((args[onlyArg + 1] ?? "").split(",").filter(Boolean)) : undefined;
const chosen = SCENARIOS.filter((s) => !only || only.has(s.id));
if (chosen.length === 0) {
  console.error(`faults: no scenario matches ${[...(only ?? [])].join(",")} (ids: ${SCENARIOS.map((s) => s.id).join(", ")})`);
  process.exit(2);
}

// Ctrl-C: no gateway process is left behind, and the private services go if we started them.
process.on("SIGINT", () => {
  killGateways();
  void releasePrivateServices().finally(() => process.exit(130));
});

const t0 = Date.now();
const results: Result[] = [];
const needsServices = chosen.some((s) => s.mode === "distributed");
const services = needsServices ? await privateServices() : undefined;
try {
  for (const sc of chosen) {
    console.log(`faults: ${sc.id} — ${sc.title} …`);
    const r = await runScenario(sc);
    results.push(r);
    console.log(`faults: ${sc.id} ${r.pass ? "pass" : "FAIL"} in ${(r.durationMs / 1000).toFixed(0)} s`);
  }
} finally {
  await services?.release();
}

const file = writeResults(results, root, { orders_per_fault: FLOW.orders, seconds: Math.round((Date.now() - t0) / 1000) });
console.log(`\n${table(results)}\n`);
const why = explain(results);
if (why) console.log(`${why}\n`);
console.log(`${results.filter((r) => r.pass).length} of ${results.length} faults pass; ${((Date.now() - t0) / 1000).toFixed(0)} s; ${file}`);
process.exit(results.every((r) => r.pass) ? 0 : 1);
