/**
 * slowTests() raises the timeout of the file that calls it, in every file of a run, which is what
 * plain `bun test` needs (test/support/timeout.ts). Two fixture files, each calling it and then
 * sleeping 300 ms, run by a child `bun test` whose own default is 100 ms.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
const fixtures = ["./test/support/fixtures/slow-a.fixture.ts", "./test/support/fixtures/slow-b.fixture.ts"];

async function runFixtures(fileTimeoutMs: number): Promise<{ pass: number; fail: number; out: string }> {
  const proc = Bun.spawn([process.execPath, "test", "--timeout", "100", ...fixtures], {
    cwd: root,
    env: { ...process.env, FIXTURE_TIMEOUT_MS: String(fileTimeoutMs), FIXTURE_SLEEP_MS: "300" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const out = stdout + stderr;
  const count = (word: string) => Number(out.match(new RegExp(`^\\s*(\\d+) ${word}$`, "m"))?.[1] ?? NaN);
  return { pass: count("pass"), fail: count("fail"), out };
}

test("a file that calls slowTests(2000) keeps 2 s a test, the second file of the run too", async () => {
  const r = await runFixtures(2_000);
  expect({ pass: r.pass, fail: r.fail }, r.out).toEqual({ pass: 2, fail: 0 });
}, 30_000);

test("without the raise the same tests time out (the fixtures do fail on the run's default)", async () => {
  const r = await runFixtures(100);
  expect({ pass: r.pass, fail: r.fail }, r.out).toEqual({ pass: 0, fail: 2 });
}, 30_000);
