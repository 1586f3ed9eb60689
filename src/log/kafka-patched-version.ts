/**
 * The Kafka client patches (src/log/kafka-reads.ts, src/log/kafka-writes.ts) replace methods of
 * @platformatic/kafka's Reader and Writer and rely on @platformatic/dynamic-buffer's chunk list:
 * internals, not API. They were written and tested against the versions in PATCHED_FOR; another
 * version may lay those internals out otherwise and decode or encode records wrongly without an
 * error, so the patches refuse to install on one and `new KafkaLog()` fails at start, naming both
 * versions. After an upgrade: run test/log/kafka-reads.unit.test.ts and kafka-writes.unit.test.ts
 * (they hold the patches to the client's own code) and update PATCHED_FOR.
 *
 * What would let the patches go: upstream, a `Reader` that reads varints straight from one
 * contiguous buffer (rather than locating the chunk from the start on every read, and building
 * 64-bit varints in BigInt), and a `Writer` that writes a record into one chunk rather than a
 * chunk per field (and a number-based murmur2 partitioner).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AlphaError } from "../errors.ts";

/** The versions the patches were written for. */
export const PATCHED_FOR = { "@platformatic/kafka": "2.12.1", "@platformatic/dynamic-buffer": "0.3.1" } as const;

export type PatchedPackage = keyof typeof PATCHED_FOR;

/** The version of an installed package, from its package.json (found above its resolved entry). */
export function installedVersion(name: PatchedPackage): string {
  let dir = dirname(Bun.resolveSync(name, import.meta.dir));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look further up
    }
    const up = dirname(dir);
    if (up === dir) throw new AlphaError("INTERNAL", `cannot find the package.json of ${name}`);
    dir = up;
  }
}

/**
 * Throws, naming both versions of each, when an installed package is not the one the patches were
 * written for.
 *
 * @example
 * checkPatchedVersions(); // at start, before the patches go on
 */
export function checkPatchedVersions(installed: (name: PatchedPackage) => string = installedVersion): void {
  const mismatches = (Object.keys(PATCHED_FOR) as PatchedPackage[])
    .map((name) => ({ name, want: PATCHED_FOR[name], have: installed(name) }))
    .filter(({ want, have }) => want !== have);
  if (mismatches.length === 0) return;
  const list = mismatches.map(({ name, want, have }) => `${name} ${have} is installed, the patches were written for ${want}`).join("; ");
  throw new AlphaError("INTERNAL", `the Kafka client patches (src/log/kafka-reads.ts, kafka-writes.ts) do not match the installed client: ${list}. See src/log/kafka-patched-version.ts.`);
}
