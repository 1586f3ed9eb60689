/**
 * `bun run webhook`: a strategy's webhooks (POST /webhooks/:token) in the gateway's store: the
 * PostgreSQL at DATABASE_URL, or without it the embedded database in DATA_DIR (default ./.alpha-panda).
 *
 *   bun run webhook create <strategy_id> [--broker paper|zerodha] [--exchange NSE] [--product MIS|CNC|NRML]
 *                                        [--quantity N] [--chartink-action BUY|SELL|scan_name] [--trading-mode LONG|SHORT|BOTH]
 *                                                        prints the token and its path, once
 *   bun run webhook list [strategy_id]                   id, strategy, rule, created, revoked
 *   bun run webhook revoke <id>
 *
 * The embedded database is open to one process at a time: while a gateway runs on that DATA_DIR
 * the script says so and exits 2 (or make the webhook with POST /api/v1/strategies/:id/webhooks).
 *
 * @example
 * DATABASE_URL=postgres://alpha:alpha@127.0.0.1:15432/alpha bun run webhook create breakout --quantity 10
 */
import { parseArgs } from "node:util";
import { AlphaError } from "../src/errors.ts";
import type { Store } from "../src/store/index.ts";
import { configuredStore } from "./lib/store.ts";
import { listWebhooks, revokeWebhook } from "../src/store/webhooks.ts";
import { problemsOf } from "../gateway/api/validate.ts";
import { webhookRule, webhookService } from "../gateway/webhooks/index.ts";
import { UUID } from "../gateway/webhooks/service.ts";

const USAGE = `usage:
  bun run webhook create <strategy_id> [--broker paper|zerodha] [--exchange NSE] [--product MIS|CNC|NRML] [--quantity N] [--chartink-action BUY|SELL|scan_name] [--trading-mode LONG|SHORT|BOTH]
  bun run webhook list [strategy_id]
  bun run webhook revoke <id>`;

function fail(message: string): number {
  console.error(`webhook: ${message}`);
  return 2;
}

const OPTIONS = {
  broker: { type: "string" },
  exchange: { type: "string" },
  product: { type: "string" },
  quantity: { type: "string" },
  "chartink-action": { type: "string" },
  "trading-mode": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () => parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
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
  if (command === "create" && rest.length !== 1) return fail(`create needs exactly one strategy id (see GET /api/v1/strategies)\n${USAGE}`);
  if (command === "list" && rest.length > 1) return fail(`list takes at most one strategy id\n${USAGE}`);
  if (command === "revoke" && (rest.length !== 1 || !UUID.test(rest[0]!))) return fail("revoke needs exactly one webhook id (see `bun run webhook list`)");

  const v = parsed.values;
  const rule = {
    ...(v.broker !== undefined ? { broker: v.broker } : {}),
    ...(v.exchange !== undefined ? { exchange: v.exchange.toUpperCase() } : {}),
    ...(v.product !== undefined ? { product: v.product.toUpperCase() } : {}),
    ...(v.quantity !== undefined ? { quantity: /^\d+$/.test(v.quantity) ? Number(v.quantity) : v.quantity } : {}),
    ...(v["chartink-action"] !== undefined ? { chartink_action: v["chartink-action"] } : {}),
    ...(v["trading-mode"] !== undefined ? { trading_mode: v["trading-mode"].toUpperCase() } : {}),
  };
  const checked = webhookRule.safeParse(rule, { reportInput: true });
  if (command === "create" && !checked.success) return fail(problemsOf(checked.error.issues, "rule").map((p) => `--${p.message.replace("chartink_action", "chartink-action").replace("trading_mode", "trading-mode")}`).join("; "));

  const opened = await configuredStore(
    "DATABASE_URL is not set, and DATA_DIR=memory keeps no database to write to. Webhooks live in the gateway's store: " +
      "set DATABASE_URL to its PostgreSQL, or DATA_DIR to the embedded gateway's data directory; or make one with POST /api/v1/strategies/:id/webhooks.",
  );
  if (typeof opened === "string") return fail(opened);
  const store: Store = opened;
  try {
    if (command === "create") {
      const strategyId = rest[0]!;
      let made;
      try {
        made = await webhookService({ sql: store.sql }).create(strategyId, checked.data!);
      } catch (err) {
        if (err instanceof AlphaError && err.code === "CONFLICT") return fail(`--${err.message}`);
        throw err;
      }
      if (!made) return fail(`no strategy ${JSON.stringify(strategyId)} (see GET /api/v1/strategies)`);
      console.log(made.token);
      console.error(
        `webhook: created webhook ${made.webhook.id} for strategy ${strategyId} (rule ${JSON.stringify(made.webhook.rule)}). ` +
          `Alerts go to POST <gateway>${made.path}. The token is shown only this once: keep it now.`,
      );
      return 0;
    }
    if (command === "list") {
      const all = await listWebhooks(store.sql, rest[0] !== undefined ? { strategyId: rest[0] } : {});
      if (all.length === 0) console.log("no webhooks");
      for (const w of all) {
        const state = w.revoked_at ? `revoked ${w.revoked_at.toISOString()}` : "active";
        console.log([w.id, w.strategy_id, w.created_at.toISOString(), state, JSON.stringify(w.rule)].join("  "));
      }
      return 0;
    }
    const id = rest[0]!;
    if (!(await revokeWebhook(store.sql, id))) return fail(`no active webhook with id ${JSON.stringify(id)}`);
    console.log(`revoked ${id}`);
    return 0;
  } finally {
    await store.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`webhook: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
