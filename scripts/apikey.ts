/**
 * `bun run apikey`: API keys in the gateway's store: the PostgreSQL at DATABASE_URL, or without it
 * the embedded database in DATA_DIR (default ./.alpha-panda).
 *
 *   bun run apikey create --scope read|trade [--name NAME]   prints the key, once
 *   bun run apikey list                                      id, name, scopes, created, revoked
 *   bun run apikey revoke <id>
 *
 * The embedded database is open to one process at a time: while a gateway runs on that DATA_DIR
 * the script says so and exits 2 (stop the gateway, make the key, start it again).
 *
 * @example
 * DATABASE_URL=postgres://alpha:alpha@127.0.0.1:15432/alpha bun run apikey create --scope trade --name ci
 */
import { parseArgs } from "node:util";
import { ApiKeys, SCOPES, type Scope } from "../gateway/api/auth.ts";
import type { Store } from "../src/store/index.ts";
import { configuredStore } from "./lib/store.ts";

const USAGE = `usage:
  bun run apikey create --scope read|trade [--name NAME]
  bun run apikey list
  bun run apikey revoke <id>`;

function fail(message: string): number {
  console.error(`apikey: ${message}`);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({ args: argv, allowPositionals: true, options: { scope: { type: "string" }, name: { type: "string" }, help: { type: "boolean", short: "h" } } });
  try {
    parsed = parse();
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    console.log(USAGE);
    return parsed.values.help ? 0 : 2;
  }
  if (!["create", "list", "revoke"].includes(command)) return fail(`unknown command ${JSON.stringify(command)}\n${USAGE}`);

  const scope = parsed.values.scope;
  if (command === "create" && !(SCOPES as readonly string[]).includes(scope ?? "")) {
    return fail(`create needs --scope ${SCOPES.join(" or ")} (trade can also read)${scope ? `, got ${JSON.stringify(scope)}` : ""}`);
  }
  if (command === "revoke" && rest.length !== 1) return fail(`revoke needs exactly one key id (see \`bun run apikey list\`)`);

  const opened = await configuredStore(
    "DATABASE_URL is not set, and DATA_DIR=memory keeps no database to write to. API keys live in the gateway's store: " +
      "set DATABASE_URL to its PostgreSQL, e.g. DATABASE_URL=postgres://alpha:alpha@127.0.0.1:15432/alpha (what `bun run infra:up` starts), " +
      "or DATA_DIR to the embedded gateway's data directory. In memory the gateway prints a key at start, or set BOOTSTRAP_API_KEY.",
  );
  if (typeof opened === "string") return fail(opened);
  const store: Store = opened;
  try {
    const keys = new ApiKeys(store.sql);
    if (command === "create") {
      const made = await keys.create([scope as Scope], parsed.values.name ?? "");
      console.log(made.key);
      console.error(`apikey: created key ${made.id} (scope ${scope}${made.name ? `, name ${made.name}` : ""}). It is shown only this once: keep it now.`);
      return 0;
    }
    if (command === "list") {
      const all = await keys.list();
      if (all.length === 0) console.log("no API keys");
      for (const k of all) {
        const state = k.revoked_at ? `revoked ${k.revoked_at.toISOString()}` : "active";
        console.log([k.id, k.scopes.join(","), k.created_at.toISOString(), state, k.name].join("  "));
      }
      return 0;
    }
    const id = rest[0]!;
    if (!(await keys.revoke(id))) return fail(`no active key with id ${JSON.stringify(id)}`);
    console.log(`revoked ${id}`);
    return 0;
  } finally {
    await store.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`apikey: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
