/**
 * The fault table (a row per fault, a column per count) and faults-results.json.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Result } from "./harness.ts";

const COLUMNS: Array<[string, (r: Result) => string]> = [
  ["fault", (r) => r.id],
  ["orders", (r) => String(r.counts.orders)],
  ["accepted", (r) => String(r.counts.accepted)],
  ["refused", (r) => String(r.counts.refused)],
  ["terminal", (r) => String(r.counts.terminal)],
  ["filled", (r) => String(r.counts.filled)],
  ["failed", (r) => String(r.counts.failed)],
  ["stuck", (r) => String(r.counts.stuck)],
  ["lost", (r) => String(r.counts.lost)],
  ["dup fills", (r) => String(r.counts.duplicated)],
  ["mismatch", (r) => String(r.counts.mismatches)],
  ["dlq (exp)", (r) => `${r.counts.dlq} (${r.counts.dlqExpected})`],
  ["dlq unexp", (r) => String(r.counts.dlqUnexpected)],
  ["5xx≠503", (r) => String(r.counts.other5xx)],
  ["503", (r) => String(r.counts.s503)],
  ["slow>2s", (r) => String(r.counts.slowOrders)],
  ["recovery s", (r) => (r.counts.recoveryMs === null ? "never" : (r.counts.recoveryMs / 1000).toFixed(1))],
  ["result", (r) => (r.pass ? "pass" : "FAIL")],
];

export function table(results: Result[]): string {
  const rows = results.map((r) => COLUMNS.map(([, f]) => f(r)));
  const header = COLUMNS.map(([h]) => h);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  const legend = results.map((r) => `  ${r.id}: ${r.title}`).join("\n");
  return [line(header), rule, ...rows.map(line), "", legend].join("\n");
}

/** Why each failing row failed, and the notes. */
export function explain(results: Result[]): string {
  const out: string[] = [];
  for (const r of results) {
    if (r.failures.length === 0 && r.notes.length === 0) continue;
    out.push(`${r.id} (${r.title}):`);
    for (const f of r.failures) out.push(`  FAIL ${f}`);
    for (const n of r.notes) out.push(`  note ${n}`);
  }
  return out.join("\n");
}

export function writeResults(results: Result[], root: string, extra: Record<string, unknown> = {}): string {
  const file = join(root, "faults-results.json");
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...extra, results }, null, 2)}\n`);
  return file;
}
