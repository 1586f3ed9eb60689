/** zod issues as problems a person can act on, each naming its field. */
import type { z } from "zod";
import type { Problem } from "../errors.ts";

/**
 * One problem per bad field; unknown keys are named one by one (they are usually typos).
 *
 * @example
 * problemsOf(schema.safeParse(x, { reportInput: true }).error!.issues);
 */
export function problemsOf(issues: readonly z.core.$ZodIssue[]): Problem[] {
  const at = (path: readonly PropertyKey[]) => path.map(String).join(".") || "(root)";
  return issues.flatMap((i): Problem[] => {
    if (i.code === "unrecognized_keys") return i.keys.map((k) => ({ path: at([...i.path, k]), message: "is not a known limit" }));
    const got = i.code !== "custom" && "input" in i && i.input !== undefined ? `, got ${JSON.stringify(i.input)}` : "";
    return [{ path: at(i.path), message: `${i.message}${got}` }];
  });
}
