/**
 * Runs `bun gateway/main.ts` as a user would, reading its JSON log lines as they come.
 */
import type { Subprocess } from "bun";
import { logLines } from "../../scripts/lib/proc.ts";

export interface GatewayProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the first log line matching, or rejects after `timeoutMs`. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** The URL from the "gateway listening" line. */
  url(timeoutMs?: number): Promise<string>;
  /** SIGINT, then the exit code and how long it took. */
  interrupt(): Promise<{ code: number; ms: number }>;
}

const root = new URL("../..", import.meta.url).pathname;

/**
 * The environment without our settings, so a test states exactly what it sets. The embedded
 * database stays in memory (DATA_DIR=memory) unless the test names a data directory: tests must
 * not share one another's state, nor a developer's ./.alpha-panda.
 */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(KAFKA_|REDIS_URL|DATABASE_URL|DATA_DIR|ACTIVE_BROKERS|PORT|FEED|HOST|MARKET_HOURS|MARKET_CALENDAR_FILE)/.test(k)) env[k] = v;
  }
  return { ...env, DATA_DIR: "memory", ...extra };
}

export function spawnGateway(env: Record<string, string>): GatewayProcess {
  const proc = Bun.spawn([process.execPath, "gateway/main.ts"], { cwd: root, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const { lines, stderr, waitFor } = logLines(proc);

  return {
    proc,
    lines,
    stderr,
    waitFor,
    url: async (timeoutMs = 20_000) => String((await waitFor((l) => l.msg === "gateway listening", timeoutMs)).url),
    interrupt: async () => {
      const t0 = Date.now();
      proc.kill("SIGINT");
      const code = await proc.exited;
      return { code, ms: Date.now() - t0 };
    },
  };
}
