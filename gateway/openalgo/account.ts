/**
 * OpenAlgo's ping and analyzer routes. Analyzer (sandbox) mode is our paper broker; live is
 * zerodha. The mode belongs to the API key (api_keys.openalgo_live), default analyze, so one
 * client may paper-trade while another trades live on the same gateway.
 */
import { z } from "zod";
import { OaError } from "./errors.ts";
import { brokerOfMode, oaRoute, type OaRoute } from "./route.ts";
import type { OaDeps } from "./deps.ts";

/** Marshmallow's Bool, as OpenAlgo's schema reads `mode`: true/false, or their common spellings. */
const oaBool = z.union([
  z.boolean(),
  z.enum(["true", "True", "TRUE", "1", "false", "False", "FALSE", "0"]).transform((s) => ["true", "1"].includes(s.toLowerCase())),
  z.union([z.literal(1), z.literal(0)]).transform((n) => n === 1),
]);

const modeWord = (live: boolean) => (live ? "live" : "analyze");

/**
 * @example
 * const routes = accountRoutes(deps); // ping, analyzer, analyzer/toggle
 */
export function accountRoutes(deps: OaDeps): OaRoute[] {
  const status = async (live: boolean) => ({ mode: modeWord(live), analyze_mode: !live, total_logs: await deps.paperOrderCount() });
  return [
    oaRoute({
      name: "ping",
      summary: "Checks the API key; answers the broker its calls trade",
      scope: "read",
      body: z.object({}),
      needsActiveBroker: false,
      handle: async ({ broker }) => ({ status: "success", data: { broker, message: "pong" } }),
    }),
    oaRoute({
      name: "analyzer",
      summary: "The key's analyzer mode: analyze (paper) or live (zerodha)",
      scope: "read",
      body: z.object({}),
      needsActiveBroker: false,
      handle: async ({ broker }) => ({ status: "success", data: await status(broker === "zerodha") }),
    }),
    oaRoute({
      name: "analyzer/toggle",
      summary: "Switches the key between analyze (paper) and live (zerodha)",
      scope: "trade",
      body: z.object({ mode: oaBool }),
      needsActiveBroker: false,
      handle: async ({ body, key }) => {
        const live = !body.mode;
        const broker = brokerOfMode(live);
        if (!deps.activeBrokers.includes(broker)) {
          throw new OaError(400, `${modeWord(live)} mode trades ${broker}, which this gateway does not run (ACTIVE_BROKERS=${deps.activeBrokers.join(",")})`);
        }
        if (!(await deps.modes.setLive(key.hash, live))) throw new OaError(403, "Invalid openalgo apikey");
        return { status: "success", data: { ...(await status(live)), message: `Analyzer mode switched to ${modeWord(live)}` } };
      },
    }),
  ];
}
