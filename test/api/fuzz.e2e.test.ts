/**
 * Schemathesis with every check against a fresh embedded gateway (scripts/fuzz.ts): a short run,
 * at least 2,000 requests, and no check may fail. Schemathesis is installed into .venv-fuzz/ by
 * the script when missing; when it cannot be installed (no python3, no PyPI) the test fails under
 * REQUIRE_INFRA=1 and is skipped with a message otherwise.
 */
import { describe, expect, test } from "bun:test";
import { ensureSchemathesis, runFuzz, SCHEMATHESIS_VERSION } from "../../scripts/fuzz.ts";
import { requireInfra } from "../support/infra.ts";

let installError: string | undefined;
try {
  await ensureSchemathesis((line) => console.log(line));
} catch (err) {
  installError = (err as Error).message;
}

if (installError && requireInfra) {
  test(`schemathesis ${SCHEMATHESIS_VERSION} can be installed (REQUIRE_INFRA=1)`, () => {
    throw new Error(installError);
  });
} else if (installError) {
  console.warn(`skipping the Schemathesis run: ${installError} (set REQUIRE_INFRA=1 to fail instead)`);
}

// Skipped only when Schemathesis cannot be installed and REQUIRE_INFRA is unset (a laptop without
// Python or PyPI); with REQUIRE_INFRA=1, as CI runs, the failing test above stands instead.
describe.skipIf(installError !== undefined)("Schemathesis, every check, against the embedded gateway", () => {
  test(
    "2,000 requests or more, and no check fails",
    async () => {
      const output: string[] = [];
      const r = await runFuzz({ requests: 2_000, seed: 1, examplesPerRound: 60, maxRounds: 4, out: (t) => void output.push(t) });
      if (r.failed.length > 0) console.error(output.join(""));
      expect(r.failed.map((f) => `seed ${f.seed}: exit ${f.exitCode}`)).toEqual([]);
      expect(r.requests).toBeGreaterThanOrEqual(2_000);
      // Not one 5xx among them (not_a_server_error says so too; this names the count).
      expect(Object.keys(r.statuses).filter((s) => s.startsWith("5"))).toEqual([]);
    },
    240_000,
  );
});
