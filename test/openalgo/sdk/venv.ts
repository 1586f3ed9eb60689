/**
 * OpenAlgo's own Python SDK (PyPI `openalgo`, a test tool: the product stays TypeScript), pinned,
 * in a venv made on demand at `.venv-openalgo/` (gitignored; OPENALGO_VENV names another) with
 * the `python3` on the PATH (or $PYTHON), as scripts/fuzz.ts does for Schemathesis.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** The SDK version the test is held to. */
export const OPENALGO_SDK_VERSION = "1.0.47";

const ROOT = resolve(import.meta.dir, "../../..");
const VENV = resolve(ROOT, process.env.OPENALGO_VENV ?? ".venv-openalgo");

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out: out + err };
}

/**
 * The venv's python with `openalgo` at the pinned version, installing it when missing or at
 * another version. Throws, saying what failed, when it cannot be installed.
 *
 * @example
 * const python = await ensureOpenAlgoSdk();
 */
export async function ensureOpenAlgoSdk(log: (line: string) => void = console.log): Promise<string> {
  const python = join(VENV, "bin/python");
  const pip = join(VENV, "bin/pip");
  if (existsSync(pip)) {
    const shown = await run([pip, "show", "openalgo"]);
    if (shown.code === 0 && shown.out.includes(`Version: ${OPENALGO_SDK_VERSION}`)) return python;
  }
  const system = process.env.PYTHON ?? "python3";
  log(`installing openalgo ${OPENALGO_SDK_VERSION} into ${VENV} (with ${system})`);
  const venv = await run([system, "-m", "venv", VENV]).catch((err: unknown) => ({ code: 1, out: String(err) }));
  if (venv.code !== 0) throw new Error(`cannot create a Python venv at ${VENV} with ${system}: ${venv.out.trim()}`);
  const install = await run([pip, "install", "--disable-pip-version-check", "-q", `openalgo==${OPENALGO_SDK_VERSION}`]);
  if (install.code !== 0) throw new Error(`cannot install openalgo ${OPENALGO_SDK_VERSION} from PyPI: ${install.out.trim().slice(-2_000)}`);
  return python;
}
