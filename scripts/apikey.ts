/**
 * `bun run apikey`: API keys in the PostgreSQL at DATABASE_URL (the gateway's store).
 *
 *   bun run apikey create --scope read|trade [--name NAME]   prints the key, once
 *   bun run apikey list                                      id, name, scopes, created, revoked
 *   bun run apikey revoke <id>
 *
 * The embedded mode keeps its database inside the gateway process, so there is nothing for this
 * script to reach: there, the gateway makes a key at start (or registers BOOTSTRAP_API_KEY).
 *
 * @example
 * DATABASE_URL=postgres://alpha:alpha@127.0.0.1:15432/alpha bun run apikey create --scope trade --name ci
 */
import { parseArgs } from "node:util";
import { ApiKeys, SCOPES, type Scope } from "../gateway/api/auth.ts";
import { openStore } from "../src/store/index.ts";

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

  const url = process.env.DATABASE_URL?.trim();
  if (!url) {
    return fail(
      "DATABASE_URL is not set. API keys live in the gateway's PostgreSQL: set DATABASE_URL to it, e.g. " +
        "DATABASE_URL=postgres://alpha:alpha@127.0.0.1:15432/alpha (what `bun run infra:up` starts). " +
        "In the embedded mode the gateway prints a key at start, or set BOOTSTRAP_API_KEY.",
    );
  }
  // openStore applies any pending migration, so the api_keys table exists even before the first gateway start.
  const store = await openStore({ databaseUrl: url, maxConnections: 1 });
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
