/**
 * Reading migration files: no database needed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadMigrations } from "../../src/store/index.ts";

const dirs: string[] = [];
async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "alpha-migrations-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("loadMigrations", () => {
  test("the application's migrations start at 0001_init", async () => {
    const [first] = await loadMigrations();
    expect(first).toMatchObject({ version: 1, name: "init", file: "0001_init.sql" });
    expect(first?.sql).toContain("create table strategies");
  });

  test("sorts by version and ignores files that are not .sql", async () => {
    const dir = await dirWith({ "0010_b.sql": "select 2;", "0002_a.sql": "select 1;", "README.md": "notes" });
    expect((await loadMigrations(dir)).map((m) => m.file)).toEqual(["0002_a.sql", "0010_b.sql"]);
  });

  test("refuses a .sql file with a name it would otherwise skip", async () => {
    const dir = await dirWith({ "0001_init.sql": "", "2-typo.sql": "" });
    await expect(loadMigrations(dir)).rejects.toMatchObject({ code: "MIGRATION_FAILED", message: expect.stringContaining("2-typo.sql") });
  });

  test("refuses two files with one version", async () => {
    const dir = await dirWith({ "0002_a.sql": "", "0002_b.sql": "" });
    await expect(loadMigrations(dir)).rejects.toMatchObject({ code: "MIGRATION_FAILED", message: expect.stringContaining("share version 2") });
  });
});
