/**
 * Speaking to the gateway as an OpenAlgo client does: POST /api/v1/<name> with JSON, the key in
 * the body; and checking each answer against OpenAlgo's documents (contract.ts).
 */
import { expect } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { requestProblems, responseProblems } from "./contract.ts";

export interface OaReply {
  status: number;
  body: any;
}

/**
 * @example
 * const oa = oaClient(url, key);
 * const r = await oa.call("placeorder", { strategy: "Python", symbol: "INFY", … }); // apikey added
 */
export function oaClient(base: string, apikey: string) {
  async function post(name: string, body: unknown): Promise<OaReply> {
    const res = await fetch(`${base}/api/v1/${name}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`POST /api/v1/${name} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    return { status: res.status, body: json };
  }
  return {
    apikey,
    /** POST with this client's key added to `fields`. */
    call: (name: string, fields: Record<string, unknown> = {}) => post(name, { apikey, ...fields }),
    /** POST exactly `body` (for a missing or wrong key). */
    raw: post,
  };
}

/**
 * Calls `name` with the key, asserting the request fits OpenAlgo's documented request schema and
 * the answer its documented response for the status it came with.
 *
 * @example
 * const r = await contractCall(oa, "placeorder", body);
 */
export async function contractCall(oa: ReturnType<typeof oaClient>, name: string, fields: Record<string, unknown> = {}): Promise<OaReply> {
  expect(requestProblems(`/${name}`, { apikey: oa.apikey, ...fields })).toEqual([]);
  const r = await oa.call(name, fields);
  expect(responseProblems(`/${name}`, r.status, r.body)).toEqual([]);
  return r;
}

/**
 * An embedded gateway as these tests use it (no feed, so prices are what the test posts), ready,
 * with a REST client and an OpenAlgo client for `key`.
 *
 * @example
 * ({ gw, url, api, oa } = await embeddedGateway(KEY));
 */
export async function embeddedGateway(key: string): Promise<{ gw: GatewayProcess; url: string; api: ReturnType<typeof apiClient>; oa: ReturnType<typeof oaClient> }> {
  const gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: key });
  const url = await gw.url(30_000);
  const api = apiClient(url, key);
  await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 30_000);
  return { gw, url, api, oa: oaClient(url, key) };
}
