/**
 * The per-test timeout of a test file that starts a store, a service client or a process.
 *
 * Call `slowTests()` at the top of such a file. Plain `bun test` (Bun 1.4.5) gives every test 5 s
 * unless it is told otherwise, and there is no project-wide way to tell it: bunfig.toml's
 * `[test] timeout` is not read (oven-sh/bun#7789), and `setDefaultTimeout` in a preload reaches
 * only the first file of a run (oven-sh/bun#43787; the runner resets its per-file default after
 * every file). Opening the embedded store takes ~4 s on a 2-core machine, so plain `bun test`
 * failed the PGlite portfolio tests at 5 s while `bun run test:all` (`--timeout 60000`) passed.
 * `setDefaultTimeout` called while a file is evaluated holds for that file's tests.
 *
 * @example
 * import { slowTests } from "../support/timeout.ts";
 * slowTests();
 */
import { setDefaultTimeout } from "bun:test";

/** 60 s: what `test:all` gives every test; a test that needs more says so itself. */
export const SLOW_TEST_TIMEOUT_MS = 60_000;

export function slowTests(ms = SLOW_TEST_TIMEOUT_MS): void {
  setDefaultTimeout(ms);
}
