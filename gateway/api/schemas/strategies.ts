/** The strategies' schemas: a strategy's params are checked against its kind's own schema. */
import { z } from "zod";
import { BROKERS } from "../../../src/config.ts";
import { STRATEGY_KINDS, STRATEGY_PARAMS } from "../../../src/strategies/index.ts";
import { instrumentToken, strategyId } from "./fields.ts";

const KINDS = STRATEGY_KINDS as [string, ...string[]];

const strategyFields = {
  kind: z.enum(KINDS, { error: `must be a strategy kind: ${KINDS.join(", ")}` }),
  params: z.record(z.string(), z.unknown()),
  instruments: z.array(instrumentToken).max(1_000, "has more than 1000 instruments"),
  brokers: z.array(z.enum(BROKERS)).min(1, "must name at least one broker"),
  enabled: z.boolean(),
};

/**
 * `params` checked against its kind's schema (the kind's own, src/strategies), `{}` when absent;
 * without a kind (a PATCH), against the kinds' schemas, one of which must take it.
 */
function checkParams(body: { kind?: string; params?: Record<string, unknown> }, ctx: z.RefinementCtx, required: boolean): void {
  if (body.params === undefined && !required) return;
  if (body.kind !== undefined && !Object.hasOwn(STRATEGY_PARAMS, body.kind)) return; // the kind's own check says so
  const kinds = body.kind === undefined ? KINDS : [body.kind];
  const results = kinds.map((kind) => STRATEGY_PARAMS[kind]!.safeParse(body.params ?? {}, { reportInput: true }));
  if (results.some((r) => r.success)) return;
  if (kinds.length > 1) {
    ctx.addIssue({ code: "custom", path: ["params"], message: `fit no strategy kind's params (${KINDS.join(", ")})` });
    return;
  }
  for (const issue of results[0]!.error!.issues) ctx.addIssue({ ...issue, path: ["params", ...issue.path] } as never);
}

/** The same rule as checkParams, for the OpenAPI document: with kind k, params fit k's schema. */
const paramsByKind = (create: boolean) => ({
  anyOf: KINDS.map((kind) => {
    const schema = STRATEGY_PARAMS[kind]!;
    const { $schema: _, ...params } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
    return {
      properties: { kind: { const: kind }, params },
      ...(create && !schema.safeParse({}).success ? { required: ["kind", "params"] } : {}),
    };
  }),
});

export const createStrategyBody = z
  .strictObject({
    id: strategyId,
    kind: strategyFields.kind,
    params: strategyFields.params.optional().meta({ description: "The kind's params (below); required unless the kind has defaults for all." }),
    instruments: strategyFields.instruments.optional(),
    brokers: strategyFields.brokers.optional().meta({ description: 'Default ["paper"].' }),
    enabled: strategyFields.enabled.optional().meta({ description: "Default true." }),
  })
  .superRefine((body, ctx) => checkParams(body, ctx, true))
  .meta(paramsByKind(true));

export const patchStrategyBody = z
  .strictObject({
    kind: strategyFields.kind.optional(),
    params: strategyFields.params.optional(),
    instruments: strategyFields.instruments.optional(),
    brokers: strategyFields.brokers.optional(),
    enabled: strategyFields.enabled.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, "must change at least one field")
  .superRefine((body, ctx) => checkParams(body, ctx, false))
  .meta({ minProperties: 1, ...paramsByKind(false) });

export const strategyOut = z.object({
  id: z.string(),
  kind: z.string(),
  params: z.record(z.string(), z.unknown()),
  instruments: z.array(z.number().int()),
  brokers: z.array(z.enum(BROKERS)),
  enabled: z.boolean(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
});

export const strategyResponse = z.object({ strategy: strategyOut });
export const strategyListResponse = z.object({ strategies: z.array(strategyOut) });
