/**
 * Versioned SQL migrations: `migrations/NNNN_name.sql`, applied in version order, each in its
 * own transaction together with its `schema_migrations` row, so a migration is either wholly
 * applied and recorded or not there at all. Statements that cannot run inside a transaction
 * (`create index concurrently`, `vacuum`) do not belong in a migration file.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import postgres from "postgres";
import type { Sql, TransactionSql } from "postgres";
import { AlphaError } from "../errors.ts";
import { isUnavailable, storeError } from "./errors.ts";

/** One migration file, read. */
export interface Migration {
  version: number;
  /** The part of the file name after the version: `init` for `0001_init.sql`. */
  name: string;
  file: string;
  sql: string;
}

/**
 * Where the application's own migrations live.
 *
 * @example
 * await loadMigrations(MIGRATIONS_DIR); // the same as loadMigrations()
 */
export const MIGRATIONS_DIR = join(import.meta.dir, "migrations");

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

// One lock for every process migrating this database: concurrent starts queue on it instead of
// racing on `create table` (which fails on a duplicate pg_type row even with `if not exists`).
const LOCK_NAME = "alpha_panda.schema_migrations";

/**
 * Reads every `NNNN_name.sql` in a directory, sorted by version. A `.sql` file with any other
 * name, or two files with one version, is an error: a typo must not silently skip a migration.
 *
 * @example
 * const migrations = await loadMigrations(); // src/store/migrations
 */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = FILE_NAME.exec(file);
    if (!m) throw new AlphaError("MIGRATION_FAILED", `migration file ${file} in ${dir} is not named NNNN_name.sql`);
    const version = Number(m[1]);
    const clash = out.find((o) => o.version === version);
    if (clash) throw new AlphaError("MIGRATION_FAILED", `migrations ${clash.file} and ${file} in ${dir} share version ${version}`);
    out.push({ version, name: m[2]!, file, sql: await Bun.file(join(dir, file)).text() });
  }
  return out;
}

async function lock(tx: TransactionSql): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext(${LOCK_NAME}))`;
}

/** The server's message, its SQLSTATE, and the line of the migration it points at. */
function describe(err: unknown, text: string): string {
  if (!(err instanceof postgres.PostgresError)) return err instanceof Error ? err.message : String(err);
  const position = Number(err.position);
  const line = position > 0 ? ` at line ${text.slice(0, position - 1).split("\n").length}` : "";
  return `${err.message} (SQLSTATE ${err.code})${line}`;
}

function failed(what: string, err: unknown, text = ""): unknown {
  if (isUnavailable(err)) return storeError(err, what);
  return new AlphaError("MIGRATION_FAILED", `${what}: ${describe(err, text)}`, { cause: err });
}

/**
 * Applies the migrations the database has not seen yet and returns their versions (empty when
 * it was up to date). Safe to run from several processes at once: each migration is checked and
 * applied under one advisory lock, so exactly one of them applies it.
 *
 * @example
 * const applied = await migrate(sql, await loadMigrations()); // [1] on a fresh database, then []
 */
export async function migrate(sql: Sql, migrations: readonly Migration[]): Promise<number[]> {
  let applied: Map<number, string>;
  try {
    await sql.begin(async (tx) => {
      await lock(tx);
      await tx`create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`;
    });
    const rows = await sql<{ version: number; name: string }[]>`select version, name from schema_migrations`;
    applied = new Map(rows.map((r) => [r.version, r.name]));
  } catch (err) {
    throw failed("cannot read schema_migrations", err);
  }

  for (const m of migrations) {
    const name = applied.get(m.version);
    if (name !== undefined && name !== m.name) {
      throw new AlphaError("MIGRATION_FAILED", `database has migration ${m.version} applied as "${name}", but the file is ${m.file}`);
    }
  }

  const done: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    try {
      const ran = await sql.begin(async (tx) => {
        await lock(tx);
        // Another process may have applied it while we waited for the lock.
        const [seen] = await tx`select 1 from schema_migrations where version = ${m.version}`;
        if (seen) return false;
        await tx.unsafe(m.sql);
        await tx`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
        return true;
      });
      if (ran) done.push(m.version);
    } catch (err) {
      throw failed(`migration ${m.file} failed`, err, m.sql);
    }
  }
  return done;
}
