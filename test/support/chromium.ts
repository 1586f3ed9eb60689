/**
 * Debian's Chromium for the browser tests (never a downloaded build): `CHROMIUM_PATH`, else
 * `chromium` on the PATH, else /usr/bin/chromium. Without it a browser test fails under
 * REQUIRE_INFRA=1 (a failing test is registered here) and is skipped otherwise, like the other
 * infrastructure tests.
 */
import { test } from "bun:test";
import { requireInfra } from "./infra.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? Bun.which("chromium") ?? "/usr/bin/chromium";

/**
 * Whether Chromium is there; registers the failing test under REQUIRE_INFRA=1 when it is not.
 *
 * @example
 * const haveChromium = await chromiumPresent("the desk's browser tests");
 * describe.skipIf(!haveChromium)("the desk in Chromium", () => { … });
 */
export async function chromiumPresent(what: string): Promise<boolean> {
  if (await Bun.file(CHROMIUM).exists()) return true;
  if (requireInfra) {
    test(`Chromium is installed at ${CHROMIUM} (REQUIRE_INFRA=1)`, () => {
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (scripts/infra.ts installs it), or set CHROMIUM_PATH`);
    });
  } else {
    console.warn(`skipping ${what}: no Chromium at ${CHROMIUM} (apt-get install chromium, or set REQUIRE_INFRA=1 to fail instead)`);
  }
  return false;
}
