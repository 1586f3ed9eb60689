/**
 * GET /whoami: the scopes of the key that asks. The desk enables the buttons that act only for a
 * trade key, without trying an action to find out.
 */
import { z } from "zod";
import { SCOPES } from "./auth.ts";
import { route, scopesOf, type Route } from "./route.ts";

export const whoamiResponse = z.object({ scopes: z.array(z.enum(SCOPES)).meta({ description: "read: GET routes and the WebSocket; trade: everything." }) });

/**
 * @example
 * register(api, whoamiRoutes(), { keys, maxBodyBytes });
 */
export const whoamiRoutes = (): Route[] => [
  route({
    method: "GET",
    path: "/whoami",
    tag: "keys",
    summary: "The scopes of the API key sent",
    responses: { 200: { description: "The key's scopes.", schema: whoamiResponse } },
    async handle({ c }) {
      return { status: 200, body: { scopes: scopesOf(c) } };
    },
  }),
];
