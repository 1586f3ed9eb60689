/**
 * `bun run fuzz`: Schemathesis, every check, against a fresh embedded gateway, from its own
 * /openapi.json. Schemathesis (PyPI, a test tool, not part of the product) is installed at a
 * pinned version into `.venv-fuzz/` (gitignored) by this script, with the `python3` on the PATH
 * (or $PYTHON; FUZZ_VENV names another venv directory). The gateway is a child process: embedded, FEED=none, a random BOOTSTRAP_API_KEY
 * (a trade key, which every request carries).
 *
 *   bun run fuzz                      # the long run: at least 20,000 requests
 *   bun run fuzz --requests 2000      # a short one (test/api/fuzz.e2e.test.ts runs this)
 *   bun run fuzz --seed 7             # another seed (default 1)
 *
 * Deterministic for a seed: each round runs Schemathesis with a fixed seed and a fixed number of
 * examples per operation; rounds (seed, seed + 1, …) repeat until the requests sent reach the
 * target, counted from Schemathesis' HAR report. Exit 0 only when no check failed anywhere.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { logLines } from "./lib/proc.ts";

/** The Schemathesis version the runs are held to. */
export const SCHEMATHESIS_VERSION = "4.32.5";

const ROOT = resolve(import.meta.dir, "..");
/** Where Schemathesis is installed: FUZZ_VENV, default .venv-fuzz/ at the root (gitignored). */
const VENV = resolve(ROOT, process.env.FUZZ_VENV ?? ".venv-fuzz");
const CONFIG = join(ROOT, "scripts/fuzz/schemathesis.toml");

export interface FuzzOptions {
  /** Requests to send at least. */
  requests: number;
  seed?: number;
  /** Examples per operation and phase in one round. Default: enough for ~2,000 requests a round. */
  examplesPerRound?: number;
  /** Rounds at most (a guard: the target is normally reached in far fewer). */
  maxRounds?: number;
  /** Where Schemathesis' output goes; default the console. */
  out?: (text: string) => void;
}

export interface FuzzResult {
  requests: number;
  rounds: number;
  /** Rounds whose Schemathesis run failed (a check failed, or an error), with their output's summary. */
  failed: Array<{ seed: number; exitCode: number; summary: string }>;
  /** Responses by status, over every round. */
  statuses: Record<string, number>;
}

async function run(cmd: string[], opts: { cwd?: string } = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { cwd: opts.cwd ?? ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out: out + err };
}

/**
 * The path of Schemathesis' `st`, installing it (a venv and a pinned pip install) when it is
 * missing or at another version. Throws, saying what failed, when it cannot be installed.
 *
 * @example
 * const st = await ensureSchemathesis();
 */
export async function ensureSchemathesis(log: (line: string) => void = console.log): Promise<string> {
  const st = join(VENV, "bin/st");
  const pip = join(VENV, "bin/pip");
  if (existsSync(pip)) {
    const shown = await run([pip, "show", "schemathesis"]);
    if (shown.code === 0 && shown.out.includes(`Version: ${SCHEMATHESIS_VERSION}`) && existsSync(st)) return st;
  }
  const python = process.env.PYTHON ?? "python3";
  log(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${VENV} (with ${python})`);
  const venv = await run([python, "-m", "venv", VENV]).catch((err: unknown) => ({ code: 1, out: String(err) }));
  if (venv.code !== 0) throw new Error(`cannot create a Python venv at ${VENV} with ${python}: ${venv.out.trim()}`);
  const install = await run([pip, "install", "--disable-pip-version-check", "-q", `schemathesis==${SCHEMATHESIS_VERSION}`]);
  if (install.code !== 0 || !existsSync(st)) throw new Error(`cannot install schemathesis ${SCHEMATHESIS_VERSION} from PyPI: ${install.out.trim().slice(-2_000)}`);
  return st;
}

/** A fresh embedded gateway on a free port; its URL, its trade key and a stop. */
async function startGateway(): Promise<{ url: string; key: string; stop(): Promise<void> }> {
  const key = `ap_fuzz_${crypto.randomUUID().replaceAll("-", "")}`;
  const env: Record<string, string | undefined> = { ...process.env };
  // Embedded whatever the caller's environment has set.
  for (const k of ["KAFKA_BROKERS", "REDIS_URL", "DATABASE_URL", "ACTIVE_BROKERS", "KITE_API_KEY", "KITE_API_SECRET", "KITE_ACCESS_TOKEN"]) delete env[k];
  Object.assign(env, { PORT: "0", HOST: "127.0.0.1", FEED: "none", BOOTSTRAP_API_KEY: key, LOG_LEVEL: "info", DATA_DIR: "memory" });
  // Schemathesis sends requests as fast as a runaway script, all with one key: it is here to
  // test the API, not the rate limiter (test/api/rate-limit*.test.ts do), so its budgets are wide.
  for (const budget of ["READS", "WRITES", "TICKS"]) Object.assign(env, { [`RATE_LIMIT_${budget}_PER_S`]: "1000000", [`RATE_LIMIT_${budget}_BURST`]: "1000000" });
  const proc = Bun.spawn([process.execPath, "gateway/main.ts"], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  const log = logLines(proc, { keep: 200 });
  const stop = async () => {
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => undefined)]);
    if (exited === undefined) proc.kill("SIGKILL");
    await proc.exited;
  };
  try {
    const line = await log.waitFor((l) => l.msg === "gateway listening", 60_000);
    const url = String(line.url);
    // Ready: every stage worker running, so the fuzzing starts on a settled gateway.
    const deadline = Date.now() + 60_000;
    while ((await fetch(`${url}/ready`).then((r) => r.status).catch(() => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error("the gateway did not become ready within 60 s");
      await Bun.sleep(200);
    }
    return { url, key, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Requests and their statuses in a HAR report. */
function readHar(dir: string): { requests: number; statuses: Record<string, number> } {
  const statuses: Record<string, number> = {};
  let requests = 0;
  for (const f of readdirSync(dir).filter((n) => n.startsWith("har"))) {
    const har = JSON.parse(readFileSync(join(dir, f), "utf8")) as { log: { entries: Array<{ response: { status: number } }> } };
    for (const e of har.log.entries) {
      requests++;
      statuses[e.response.status] = (statuses[e.response.status] ?? 0) + 1;
    }
  }
  return { requests, statuses };
}

/**
 * Fuzzes a fresh embedded gateway until `requests` were sent.
 *
 * @example
 * const r = await runFuzz({ requests: 2_000 });
 * if (r.failed.length > 0) process.exit(1);
 */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t));
  const st = await ensureSchemathesis((l) => out(`${l}\n`));
  const gw = await startGateway();
  const work = mkdtempSync(join(tmpdir(), "alpha-panda-fuzz-"));
  const result: FuzzResult = { requests: 0, rounds: 0, failed: [], statuses: {} };
  try {
    const seed0 = opts.seed ?? 1;
    const examples = opts.examplesPerRound ?? 60;
    const maxRounds = opts.maxRounds ?? 50;
    while (result.requests < opts.requests && result.rounds < maxRounds) {
      const seed = seed0 + result.rounds;
      const reports = join(work, `round-${result.rounds}`);
      const args = [
        st, "--no-color", "--config-file", CONFIG,
        "run", `${gw.url}/openapi.json`,
        "--checks", "all",
        "--header", `Authorization: Bearer ${gw.key}`,
        "--seed", String(seed),
        "--max-examples", String(examples),
        "--generation-database", "none",
        "--workers", "1",
        "--request-timeout", "10",
        "--report", "har",
        "--report-dir", reports,
      ];
      const r = await run(args, { cwd: work });
      const har = existsSync(reports) ? readHar(reports) : { requests: 0, statuses: {} };
      result.rounds++;
      result.requests += har.requests;
      for (const [s, n] of Object.entries(har.statuses)) result.statuses[s] = (result.statuses[s] ?? 0) + n;
      const summary = r.out.split("\n").filter((l) => /^={5,}.*(passed|failed|failure|error)|^\s+\d+ generated/.test(l)).join(" ").trim();
      out(`round ${result.rounds} (seed ${seed}): ${har.requests} requests; ${summary || `exit ${r.code}`}\n`);
      if (r.code !== 0) {
        result.failed.push({ seed, exitCode: r.code, summary: r.out.slice(-12_000) });
        out(`${r.out}\n`);
      }
      if (har.requests === 0) break; // nothing sent: more rounds would not help
    }
  } finally {
    await gw.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const requests = Number(arg("requests") ?? 20_000);
  const seed = Number(arg("seed") ?? 1);
  const examples = arg("examples") === undefined ? Math.max(60, Math.min(600, Math.ceil(requests / 40))) : Number(arg("examples"));
  const t0 = Date.now();
  const r = await runFuzz({ requests, seed, examplesPerRound: examples, maxRounds: Math.max(10, Math.ceil(requests / 500)) });
  const statuses = Object.entries(r.statuses).sort().map(([s, n]) => `${s}: ${n}`).join(", ");
  console.log(`\nfuzz: ${r.requests} requests in ${r.rounds} round(s), ${Math.round((Date.now() - t0) / 1000)} s; statuses ${statuses}`);
  console.log(r.failed.length === 0 && r.requests >= requests ? "fuzz: every check passed" : `fuzz: FAILED (${r.failed.length} round(s) with failures; ${r.requests} of ${requests} requests)`);
  process.exit(r.failed.length === 0 && r.requests >= requests ? 0 : 1);
}
