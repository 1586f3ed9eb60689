/**
 * A fake Kite and a client pointed at it, with millisecond backoff so retry tests run fast.
 */
import { KiteClient, type KiteClientOptions } from "../../../src/kite/rest/client.ts";
import { startFakeKite, type FakeKite, type FakeKiteOptions } from "../server/kite-server.ts";

export async function kiteWithClient(
  opts: Partial<KiteClientOptions> = {},
  fakeOpts: FakeKiteOptions = {},
): Promise<{ fake: FakeKite; client: KiteClient }> {
  const fake = await startFakeKite(fakeOpts);
  const client = new KiteClient({ baseUrl: fake.url, apiKey: fake.apiKey, accessToken: fake.accessToken, backoffMs: 1, ...opts });
  return { fake, client };
}

/** A LIMIT buy of INFY at ₹1450.50, the parameters most tests place. */
export const limitBuy = {
  exchange: "NSE",
  tradingsymbol: "INFY",
  transaction_type: "BUY",
  order_type: "LIMIT",
  quantity: 5,
  product: "CNC",
  price: 145050,
  validity: "DAY",
} as const;

export const marketBuy = {
  exchange: "NSE",
  tradingsymbol: "INFY",
  transaction_type: "BUY",
  order_type: "MARKET",
  quantity: 2,
  product: "MIS",
} as const;
