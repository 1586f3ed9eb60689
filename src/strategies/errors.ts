/**
 * The one error a strategy definition can raise: its row or params are wrong. Every problem is
 * listed, each naming its field, so one edit fixes them all.
 */
import type { z } from "zod";
import { AlphaError, type Problem } from "../errors.ts";

/**
 * A strategy row that cannot run, with every problem found.
 *
 * @example
 * throw new StrategyConfigError("momentum_fast", [{ path: "params.lookback", message: "must be ≥ 1, got 0" }]);
 */
export class StrategyConfigError extends AlphaError {
  readonly strategyId: string;
  readonly problems: Problem[];
  constructor(strategyId: string, problems: Problem[]) {
    super(
      "CONFIG_INVALID",
      `strategy ${JSON.stringify(strategyId)} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
      { details: problems },
    );
    this.name = "StrategyConfigError";
    this.strategyId = strategyId;
    this.problems = problems;
  }
}

/** zod issues as problems; `prefix` is where the parsed object sits ("params", or "" for the top). */
export function problemsOf(issues: readonly z.core.$ZodIssue[], prefix: string): Problem[] {
  const at = (path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join(".") || "(root)";
  return issues.flatMap((i): Problem[] => {
    // Unknown keys are usually typos: name each one, so "lookbak" is found at once.
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => ({ path: at([...i.path, k]), message: "is not a known field" }));
    }
    // A custom issue's input is the whole object; its message already says what was wrong.
    const got = i.code !== "custom" && "input" in i && i.input !== undefined ? `, got ${JSON.stringify(i.input)}` : "";
    return [{ path: at(i.path), message: `${i.message}${got}` }];
  });
}
