/**
 * Stages share nothing outside the log. Walking the imports (every `import … from`, `export … from`
 * and `import(…)`, transitively within src/):
 * - no stage module imports another stage's module (src/stage/stages/envelopes.ts, the shape of an
 *   order event, is shared);
 * - nothing under gateway/ reaches src/stage/stages/ (the gateway reads read models from their own
 *   modules; only the stage registry, src/stage/stages.ts, which starts the stages, leads there);
 * - a stage's cache keys are named in one module (its read model), and no other stage's module
 *   reaches that module, names its key symbols, or spells its keys by hand.
 * Each check is first shown to fail on a small tree that breaks it.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/** Each stage module and the stage it belongs to (the orders projection is the orders stage's fold). */
const STAGE_OF: Record<string, string> = {
  "src/stage/stages/strategy.ts": "strategy",
  "src/stage/stages/risk.ts": "risk",
  "src/stage/stages/risk-modify.ts": "risk",
  "src/stage/stages/risk-controls.ts": "risk",
  "src/stage/stages/risk-day-end.ts": "risk",
  "src/stage/stages/execution.ts": "execution",
  "src/stage/stages/portfolio.ts": "portfolio",
  "src/stage/stages/portfolio-writes.ts": "portfolio",
  "src/stage/stages/orders.ts": "orders",
  "src/stage/stages/orders-projection.ts": "orders",
  "src/stage/stages/openalgo-events.ts": "openalgo-events",
};
/** Helpers in src/stage/stages/ every stage may use. */
const SHARED = ["src/stage/stages/envelopes.ts"];
/** The modules that name a stage's cache keys (its read model), and the stage that owns each. */
const READ_MODELS: Record<string, string> = { "src/portfolio/read-model.ts": "portfolio" };
/** Where the gateway may lead into the stages: the registry that names and starts them. */
const REGISTRY = "src/stage/stages.ts";

/** Source without its comments (block comments and whole-line ones): what the code says. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");

/** The relative imports of a file, as paths from `root`. */
function importsOf(root: string, file: string): string[] {
  const text = code(readFileSync(join(root, file), "utf8"));
  const specs = [...text.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1] ?? m[2]!);
  return specs.filter((s) => s.startsWith(".")).map((s) => relative(root, resolve(join(root, dirname(file)), s)));
}

/** Every file reached from `file` by imports (itself included), not descending into `stopAt`. */
function closure(root: string, file: string, stopAt: ReadonlySet<string> = new Set()): Map<string, string[]> {
  // file → the import chain that reached it, for the failure message
  const reached = new Map<string, string[]>([[file, [file]]]);
  const queue = [file];
  while (queue.length > 0) {
    const f = queue.shift()!;
    if (stopAt.has(f) && f !== file) continue;
    for (const next of importsOf(root, f)) {
      if (reached.has(next) || !existsSync(join(root, next))) continue;
      if (!next.startsWith("src/") && !next.startsWith("gateway/")) continue;
      reached.set(next, [...reached.get(f)!, next]);
      queue.push(next);
    }
  }
  return reached;
}

function filesUnder(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** Key names a read-model module exports, and the text of its keys (broker left out). */
async function keysOf(root: string, module: string): Promise<{ symbols: string[]; literals: string[] }> {
  const exports = (await import(join(root, module))) as Record<string, unknown>;
  const symbols = Object.keys(exports).filter((name) => /Key$|_KEY$/.test(name));
  const literals = symbols.flatMap((name) => {
    const k = exports[name];
    const text = typeof k === "function" ? String((k as (b: string) => string)("\u0000")) : String(k);
    return text.split("\u0000").filter((part) => part.length >= 4);
  });
  return { symbols, literals };
}

interface Layout {
  stageOf: Record<string, string>;
  shared: string[];
  readModels: Record<string, string>;
  registry: string;
}

/** Everything that breaks the boundaries, one line each. */
async function violations(root: string, layout: Layout): Promise<string[]> {
  const out: string[] = [];
  const stageModules = Object.keys(layout.stageOf);
  for (const file of stageModules) {
    const own = layout.stageOf[file]!;
    const reached = closure(root, file);
    for (const [f, chain] of reached) {
      if (f.startsWith("src/stage/stages/") && f !== file && !layout.shared.includes(f) && layout.stageOf[f] !== own) {
        out.push(`${own} stage imports another stage's module: ${chain.join(" → ")}`);
      }
      const owner = layout.readModels[f];
      if (owner !== undefined && owner !== own) out.push(`${own} stage reaches the ${owner} stage's read model: ${chain.join(" → ")}`);
    }
    // Keys spelt or named without importing their module.
    for (const [module, owner] of Object.entries(layout.readModels)) {
      if (owner === own) continue;
      const { symbols, literals } = await keysOf(root, module);
      for (const f of reached.keys()) {
        if (layout.readModels[f] !== undefined) continue;
        const text = code(readFileSync(join(root, f), "utf8"));
        for (const s of symbols) if (new RegExp(`\\b${s}\\b`).test(text)) out.push(`${own} stage names the ${owner} stage's cache key ${s} in ${f}`);
        for (const l of literals) if (text.includes(l)) out.push(`${own} stage spells the ${owner} stage's cache key "${l}" in ${f}`);
      }
    }
  }
  for (const file of filesUnder(root, "gateway")) {
    for (const [f, chain] of closure(root, file, new Set([layout.registry]))) {
      if (f.startsWith("src/stage/stages/")) out.push(`the gateway reaches a stage's module: ${chain.join(" → ")}`);
    }
  }
  return [...new Set(out)];
}

const LAYOUT: Layout = { stageOf: STAGE_OF, shared: SHARED, readModels: READ_MODELS, registry: REGISTRY };

describe("stage boundaries: the checks fail on a tree that breaks them", () => {
  function tree(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), "boundaries-"));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }
  const readModel = `export const positionsKey = (b: string) => \`\${b}:positions\`;\nexport const readIt = () => 1;\n`;
  const layout: Layout = {
    stageOf: { "src/stage/stages/risk.ts": "risk", "src/stage/stages/portfolio.ts": "portfolio", "src/stage/stages/orders.ts": "orders", "src/stage/stages/orders-projection.ts": "orders" },
    shared: ["src/stage/stages/envelopes.ts"],
    readModels: { "src/portfolio/read-model.ts": "portfolio" },
    registry: "src/stage/stages.ts",
  };
  const clean = {
    "src/stage/stages/envelopes.ts": "export const e = 1;\n",
    "src/stage/stages/risk.ts": 'import { e } from "./envelopes.ts";\nexport const r = e;\n',
    "src/stage/stages/portfolio.ts": 'import { positionsKey } from "../../portfolio/read-model.ts";\nexport const p = positionsKey;\n',
    "src/stage/stages/orders.ts": 'import { q } from "./orders-projection.ts";\nexport const o = q;\n',
    "src/stage/stages/orders-projection.ts": "export const q = 1;\n",
    "src/portfolio/read-model.ts": readModel,
    "src/stage/stages.ts": 'export { r } from "./stages/risk.ts";\n',
    "gateway/runtime.ts": 'import { r } from "../src/stage/stages.ts";\nimport { readIt } from "../src/portfolio/read-model.ts";\nexport const g = [r, readIt];\n',
  };

  test("a tree within the rules has none", async () => {
    const root = tree(clean);
    try {
      expect(await violations(root, layout)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true });
    }
  });

  const broken: Array<[string, Record<string, string>, RegExp]> = [
    ["a stage importing another's module, through a helper", { "src/stage/stages/risk.ts": 'import { h } from "../../risk/helper.ts";\nexport const r = h;\n', "src/risk/helper.ts": 'export { p as h } from "../stage/stages/portfolio.ts";\n' }, /risk stage imports another stage's module: src\/stage\/stages\/risk.ts → src\/risk\/helper.ts → src\/stage\/stages\/portfolio.ts/],
    ["a stage reaching another's read model", { "src/stage/stages/risk.ts": 'import { readIt } from "../../portfolio/read-model.ts";\nexport const r = readIt;\n' }, /risk stage reaches the portfolio stage's read model/],
    ["a stage spelling another's key by hand", { "src/stage/stages/risk.ts": "export const r = (b: string) => `${b}:positions`;\n" }, /risk stage spells the portfolio stage's cache key ":positions"/],
    ["a stage naming another's key symbol", { "src/stage/stages/risk.ts": "const positionsKey = 1;\nexport const r = positionsKey;\n" }, /risk stage names the portfolio stage's cache key positionsKey/],
    ["the gateway importing a stage module", { "gateway/services.ts": 'import { p } from "../src/stage/stages/portfolio.ts";\nexport const s = p;\n' }, /the gateway reaches a stage's module: gateway\/services.ts → src\/stage\/stages\/portfolio.ts/],
    ["the gateway reaching one dynamically, through src/", { "gateway/services.ts": 'export const s = () => import("../src/portfolio/view.ts");\n', "src/portfolio/view.ts": 'export * from "../stage/stages/portfolio.ts";\n' }, /the gateway reaches a stage's module: gateway\/services.ts → src\/portfolio\/view.ts → src\/stage\/stages\/portfolio.ts/],
  ];
  for (const [name, change, expected] of broken) {
    test(`fails on ${name}`, async () => {
      const root = tree({ ...clean, ...change });
      try {
        const found = await violations(root, layout);
        expect(found.join("\n")).toMatch(expected);
      } finally {
        rmSync(root, { recursive: true });
      }
    });
  }
});

describe("stage boundaries: this tree", () => {
  test("the layout names real files, and the walk sees the imports", async () => {
    for (const f of [...Object.keys(STAGE_OF), ...SHARED, ...Object.keys(READ_MODELS), REGISTRY]) expect(existsSync(join(ROOT, f))).toBe(true);
    // Every module in src/stage/stages/ is a stage module or a shared helper: a new one is placed.
    expect(filesUnder(ROOT, "src/stage/stages").sort()).toEqual([...Object.keys(STAGE_OF), ...SHARED].sort());
    expect([...closure(ROOT, "src/stage/stages/execution.ts").keys()]).toContain("src/execution/exchange.ts");
    expect([...closure(ROOT, "src/stage/stages/portfolio.ts").keys()]).toContain("src/portfolio/read-model.ts");
    expect((await keysOf(ROOT, "src/portfolio/read-model.ts")).symbols.sort()).toEqual(["positionsBuiltKey", "positionsKey"]);
  });

  test("no stage imports another's module or reads its cache keys, and the gateway imports no stage module", async () => {
    expect(await violations(ROOT, LAYOUT)).toEqual([]);
  });
});
