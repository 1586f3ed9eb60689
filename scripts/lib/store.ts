/**
 * The store a gateway is configured with, opened from a script (`bun run apikey`, `bun run
 * webhook`): PostgreSQL at DATABASE_URL, else the embedded database in DATA_DIR. openStore applies
 * any pending migration, so the tables exist even before the first gateway start.
 */
import { configSchema } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { openStore, type Store } from "../../src/store/index.ts";

/**
 * The store, or the message to fail with: `refusal` when there is none to open (DATA_DIR=memory),
 * a configuration problem's own message.
 *
 * @example
 * const opened = await configuredStore("… set DATABASE_URL …");
 * if (typeof opened === "string") return fail(opened);
 */
export async function configuredStore(refusal: string): Promise<Store | string> {
  const url = process.env.DATABASE_URL?.trim();
  const dataDir = configSchema.shape.DATA_DIR.safeParse(process.env.DATA_DIR);
  if (!url && (!dataDir.success || dataDir.data === undefined)) return refusal;
  try {
    return url ? await openStore({ databaseUrl: url, maxConnections: 1 }) : await openStore({ dataDir: dataDir.data });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}
