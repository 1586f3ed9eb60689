/** A Kite REST client from the validated configuration: one place that knows the mapping. */
import type { Config } from "../config.ts";
import { KiteClient } from "./rest/client.ts";

export function kiteClient(k: NonNullable<Config["kite"]>): KiteClient {
  if (!k.accessToken) throw new Error("kiteClient: no access token (the gateway resolves one at start)");
  return new KiteClient({
    baseUrl: k.baseUrl,
    apiKey: k.apiKey,
    accessToken: k.accessToken,
    rateLimit: { perSecond: k.ordersPerSecond, perMinute: k.ordersPerMinute },
  });
}
