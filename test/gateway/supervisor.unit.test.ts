import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Supervisor } from "../../gateway/supervisor.ts";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

const fixture = (name: string) => () => new URL(`./fixtures/${name}.ts`, import.meta.url).href;

test("a crashed stage worker is restarted with growing backoff, and each crash is logged", async () => {
  const { logger, lines } = capture();
  const sup = new Supervisor({ stages: ["risk"], env: {}, logger, restartMaxMs: 400, entry: fixture("crashing-worker") });
  sup.start();
  const until = Date.now() + 10_000;
  while (Date.now() < until && sup.statuses()[0]!.restarts < 4) await Bun.sleep(20);
  await sup.stop(1_000);
  const [status] = sup.statuses();
  expect(status!.restarts).toBeGreaterThanOrEqual(4);
  expect(status!.lastError).toContain("boom");
  const crashes = lines.filter((l) => l.msg === "stage worker crashed; restarting");
  expect(crashes.length).toBeGreaterThanOrEqual(4);
  expect(crashes.map((l) => l.retry_in_ms).slice(0, 4)).toEqual([100, 200, 400, 400]);
  expect(crashes[0]!.stage).toBe("risk");
});

test("a healthy worker runs, and stops when asked", async () => {
  const { logger } = capture();
  const sup = new Supervisor({ stages: ["strategy", "portfolio"], env: {}, logger, restartMaxMs: 400, entry: fixture("steady-worker") });
  sup.start();
  const until = Date.now() + 10_000;
  while (Date.now() < until && !sup.statuses().every((s) => s.state === "running")) await Bun.sleep(20);
  expect(sup.statuses().map((s) => s.state)).toEqual(["running", "running"]);
  await sup.stop(2_000);
  expect(sup.statuses().map((s) => [s.state, s.restarts])).toEqual([["stopped", 0], ["stopped", 0]]);
});

test("a worker whose thread is stuck (silent past STAGE_HANDLER_TIMEOUT_MS + 1 s) is terminated and restarted", async () => {
  const { logger, lines } = capture();
  const dir = mkdtempSync(join(tmpdir(), "stuck-"));
  const sup = new Supervisor({ stages: ["execution"], env: { STUCK_MARKER: join(dir, "stuck") }, logger, restartMaxMs: 400, handlerTimeoutMs: 300, entry: fixture("stuck-worker") });
  const started = Date.now();
  sup.start();
  const until = Date.now() + 10_000;
  while (Date.now() < until && !(sup.statuses()[0]!.restarts === 1 && sup.statuses()[0]!.state === "running")) await Bun.sleep(20);
  const back = Date.now() - started;
  await Bun.sleep(1_500); // the new worker is not stuck: no second restart
  await sup.stop(1_000);
  rmSync(dir, { recursive: true, force: true });
  const [status] = sup.statuses();
  expect(status!.restarts).toBe(1);
  expect(status!.lastError).toContain("its thread is stuck");
  expect(lines.filter((l) => l.msg === "stage worker crashed; restarting")).toHaveLength(1);
  // Stuck at ~0.3 s, noticed after 1.3 s of silence, and the thread really ended: the new worker
  // does not start until the old one is gone (it would wait 5 s for a thread that never ends).
  expect(back).toBeLessThan(4_000);
});
