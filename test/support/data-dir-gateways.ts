/**
 * Embedded gateways on a DATA_DIR of their own, run as a user runs them (child processes), for the
 * kill -9 tests: each is started and ready to take orders; after the file every one still running
 * is killed and every folder removed.
 */
import { afterAll } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiClient, until } from "./api-client.ts";
import { spawnGateway, type GatewayProcess } from "./gateway-process.ts";

export function dataDirGateways(key: string, env: Record<string, string> = {}) {
  const running: GatewayProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const gw of running) if (gw.proc.exitCode === null && gw.proc.signalCode === null) gw.proc.kill("SIGKILL");
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  return {
    /** Processes to kill after the file (add any started otherwise). */
    running,
    /** A new empty folder, removed after the file. */
    async dataDir(prefix: string): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    /** A gateway on `dataDir` (FEED=none), once its /ready answers 200. */
    async start(dataDir: string) {
      const gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: key, DATA_DIR: dataDir, ...env });
      running.push(gw);
      const url = await gw.url(60_000);
      await until("the gateway to be ready", async () => (await fetch(`${url}/ready`, { headers: { authorization: `Bearer ${key}` } })).status === 200, 30_000);
      return { gw, url, api: apiClient(url, key) };
    },
  };
}
