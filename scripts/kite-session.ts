/**
 * `bun run kite:session <request_token>`: exchanges the request_token from Kite's login redirect
 * for an access token and stores it in the gateway's PostgreSQL (kite_sessions). See
 * src/kite/rest/session.ts for what it checks.
 *
 * @example
 * KITE_API_KEY=… KITE_API_SECRET=… DATABASE_URL=postgres://alpha:alpha@127.0.0.1:15432/alpha bun run kite:session Vx8…
 */
import { runSessionCli } from "../src/kite/rest/session.ts";
import { openStore } from "../src/store/index.ts";

try {
  process.exitCode = await runSessionCli(process.argv.slice(2), {
    env: process.env,
    // openStore applies pending migrations, so kite_sessions exists before the first gateway start.
    openSql: async (databaseUrl) => {
      const store = await openStore({ databaseUrl, maxConnections: 1 });
      return { sql: store.sql, close: () => store.close() };
    },
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
} catch (err) {
  console.error(`kite:session: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
