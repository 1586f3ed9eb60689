/**
 * OpenAlgo's key handling, ping and analyzer mode on the embedded gateway, as an OpenAlgo client
 * meets them: the key in the body, OpenAlgo's answers and status codes, and the mode per key
 * (analyze = paper by default; live = zerodha, refused where zerodha does not run).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";
import { responseProblems } from "./contract.ts";
import { contractCall, oaClient } from "./support.ts";

slowTests();

const KEY = "ap_openalgo_account_e2e_0123456789";

describe("OpenAlgo: key, ping and analyzer on the embedded gateway", () => {
  let gw: GatewayProcess;
  let url: string;

  beforeAll(async () => {
    gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
    url = await gw.url(30_000);
    const api = apiClient(url, KEY);
    await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 30_000);
  }, 60_000);
  afterAll(async () => {
    if (gw) expect((await gw.interrupt()).code).toBe(0);
  });

  test("ping answers pong with the broker the key trades: paper, in analyze mode by default", async () => {
    const r = await contractCall(oaClient(url, KEY), "ping");
    expect(r).toEqual({ status: 200, body: { status: "success", data: { broker: "paper", message: "pong" } } });
    // Flask's strict_slashes=False: the trailing slash works too.
    expect((await oaClient(url, KEY).call("ping/")).body.data.message).toBe("pong");
  });

  test("a wrong key is 403 with OpenAlgo's message; a missing one is 400 naming apikey", async () => {
    const wrong = await oaClient(url, "ap_not_a_key_of_this_gateway_000000").call("ping");
    expect(wrong).toEqual({ status: 403, body: { status: "error", message: "Invalid openalgo apikey" } });
    expect(responseProblems("/placeorder", wrong.status, wrong.body)).toEqual([]);
    const missing = await oaClient(url, KEY).raw("ping", { symbol: "INFY" });
    expect(missing.status).toBe(400);
    expect(missing.body.status).toBe("error");
    expect(missing.body.message).toContain("apikey");
  });

  test("a body that is not JSON is refused in OpenAlgo's shape", async () => {
    const res = await fetch(`${url}/api/v1/ping`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: "error" });
  });

  test("analyzer says analyze; toggling to live is refused where zerodha does not run; the mode stays", async () => {
    const oa = oaClient(url, KEY);
    const status = await contractCall(oa, "analyzer");
    expect(status.body).toMatchObject({ status: "success", data: { mode: "analyze", analyze_mode: true } });
    expect(typeof status.body.data.total_logs).toBe("number");

    const live = await contractCall(oa, "analyzer/toggle", { mode: false });
    expect(live.status).toBe(400);
    expect(live.body.message).toContain("zerodha");
    const again = await contractCall(oa, "analyzer/toggle", { mode: true });
    expect(again.body).toMatchObject({ status: "success", data: { mode: "analyze", analyze_mode: true, message: "Analyzer mode switched to analyze" } });
    expect((await oa.call("analyzer/toggle", { mode: "yes" })).status).toBe(400);
  });
});
