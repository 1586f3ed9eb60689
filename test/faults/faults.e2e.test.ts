/**
 * The fault scenarios (test/faults/scenarios.ts) as tests: each injects one fault into an order
 * flow on the harness's private Kafka, PostgreSQL and Redis and fails on any lost, stuck or
 * doubled order, a mismatch between the API, the ledger and the log, a wrong DLQ count, a 5xx
 * other than 503, or a recovery over 10 s. `bun run faults` runs the same scenarios and prints
 * the table; this file prints it too and writes faults-results.json.
 *
 * They take ~7 minutes and start services of their own, so they run where the suite runs on real
 * services (REQUIRE_INFRA=1, as `test:all` and CI set it) or with FAULTS=1; plain `bun test`
 * skips them with a message, as it skips every integration test whose service is missing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { runScenario, type Result } from "./harness.ts";
import { explain, table, writeResults } from "./report.ts";
import { SCENARIOS } from "./scenarios.ts";
import { releasePrivateServices } from "./services.ts";

const run = process.env.REQUIRE_INFRA === "1" || process.env.FAULTS === "1";
const root = new URL("../..", import.meta.url).pathname;

if (!run) {
  console.warn("skipping the fault scenarios (test/faults): they take ~7 minutes; set REQUIRE_INFRA=1 or FAULTS=1, or run `bun run faults`");
}

// Plain `bun test` skips these ~7 minutes of real-service faults (warned above); `test:all` and CI
// set REQUIRE_INFRA=1, and FAULTS=1 or `bun run faults` runs them on demand.
describe.skipIf(!run)("faults: one at a time, during an order flow", () => {
  const results: Result[] = [];
  afterAll(async () => {
    await releasePrivateServices();
    if (results.length === 0) return;
    writeResults(results, root);
    console.log(`\n${table(results)}\n\n${explain(results)}`);
  });

  for (const sc of SCENARIOS) {
    test(`${sc.id}: ${sc.title}`, async () => {
      const r = await runScenario(sc);
      results.push(r);
      expect(r.failures).toEqual([]);
    }, 240_000);
  }
});
