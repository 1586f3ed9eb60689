/**
 * The "done when": an OpenAlgo client with no change to its code trades paper through our
 * pipeline. OpenAlgo's own Python SDK (pip openalgo, pinned; sdk/venv.ts installs it into
 * .venv-openalgo/) runs test/openalgo/sdk/trade.py against the embedded gateway: placeorder,
 * orderstatus, modifyorder, placesmartorder, openposition, basketorder, splitorder,
 * cancelallorder, closeposition; our REST API then shows the same orders and a flat book.
 * Without python3 or PyPI the test fails under REQUIRE_INFRA=1 and is skipped with a message otherwise.
 */
import { describe, expect, test } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway } from "../support/gateway-process.ts";
import { requireInfra } from "../support/infra.ts";
import { ensureOpenAlgoSdk, OPENALGO_SDK_VERSION } from "./sdk/venv.ts";

const KEY = "ap_openalgo_sdk_e2e_0123456789abcdef";
const PRICES: Array<[number, string]> = [
  [779521, "812.65"], // SBIN
  [408065, "1885.20"], // INFY
  [738561, "1290.45"], // RELIANCE
];

let python: string | undefined;
let installError: string | undefined;
try {
  python = await ensureOpenAlgoSdk((line) => console.log(line));
} catch (err) {
  installError = (err as Error).message;
}

if (installError && requireInfra) {
  test(`openalgo ${OPENALGO_SDK_VERSION} can be installed (REQUIRE_INFRA=1)`, () => {
    throw new Error(installError);
  });
} else if (installError) {
  console.warn(`skipping the OpenAlgo SDK run: ${installError} (set REQUIRE_INFRA=1 to fail instead)`);
}

// Skipped only when python3 or PyPI is missing and REQUIRE_INFRA is not set; with it, the test above fails instead.
describe.skipIf(installError !== undefined)(`OpenAlgo's Python SDK ${OPENALGO_SDK_VERSION}, unchanged, against the embedded gateway`, () => {
  test(
    "places, follows, modifies, sizes, cancels all and closes: our REST API agrees",
    async () => {
      const gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
      let market: Timer | undefined;
      try {
        const url = await gw.url(30_000);
        const api = apiClient(url, KEY);
        await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 30_000);
        // The market: a tick for each instrument every 200 ms (FEED=none; paper fills on ticks).
        const tick = () => api.post("/api/v1/ticks", { ticks: PRICES.map(([instrument_token, last_price]) => ({ instrument_token, last_price, exchange_ts: new Date().toISOString() })) });
        expect((await tick()).status).toBe(202);
        market = setInterval(() => void tick().catch(() => undefined), 200);

        const proc = Bun.spawn([python!, "test/openalgo/sdk/trade.py"], {
          cwd: new URL("../..", import.meta.url).pathname,
          env: { ...process.env, OPENALGO_HOST: url, OPENALGO_API_KEY: KEY },
          stdout: "pipe",
          stderr: "pipe",
        });
        const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
        expect({ exit: await proc.exited, err: err.slice(-2_000) }).toEqual({ exit: 0, err: "" });
        const lines = out.trim().split("\n");
        const a = JSON.parse(lines.at(-1)!);

        // The README's lines print OpenAlgo's answer as a Python dict.
        expect(lines[0]).toMatch(/^\{'status': 'success', 'orderid': '[0-9a-f-]+', 'mode': 'analyze'\}$/);
        expect(a.placeorder).toEqual({ status: "success", orderid: expect.any(String), mode: "analyze" });
        expect(a.orderstatus_complete.data).toMatchObject({ order_status: "complete", symbol: "SBIN", exchange: "NSE", action: "BUY", quantity: 1, pricetype: "MARKET", product: "MIS" });
        expect(a.modifyorder).toEqual({ status: "success", orderid: a.placeorder_limit.orderid, mode: "analyze" });
        expect(a.orderstatus_modified.data).toMatchObject({ order_status: "open", quantity: 4, price: 1810.5 });
        expect(a.placesmartorder.orderid).toEqual(expect.any(String));
        expect(a.openposition_smart).toEqual({ status: "success", quantity: 5, mode: "analyze" });
        expect(a.placesmartorder_again).toEqual({ status: "success", message: "Positions Already Matched. No Action needed.", mode: "analyze" });
        expect(a.basketorder.results.map((r: any) => [r.symbol, r.status])).toEqual([["SBIN", "success"], ["RELIANCE", "success"]]);
        expect(a.splitorder).toMatchObject({ status: "success", total_quantity: 5, split_size: 2 });
        expect(a.splitorder.results.map((r: any) => r.quantity)).toEqual([2, 2, 1]);
        expect(a.cancelallorder.canceled_orders).toContain(a.placeorder_limit.orderid);
        expect(a.orderstatus_cancelled.data.order_status).toBe("cancelled");
        expect(a.closeposition).toEqual({ status: "success", message: "All Open Positions Squared Off", mode: "analyze" });
        expect(a.openposition_flat_SBIN.quantity).toBe(0);
        expect(a.openposition_flat_RELIANCE.quantity).toBe(0);

        // Ordinary orders: our REST API shows the SDK's first order as ours, and the book flat.
        const ours = (await api.get(`/api/v1/orders/${a.placeorder.orderid}`)).body.order;
        expect(ours).toMatchObject({ broker: "paper", strategy_id: "python", side: "BUY", quantity: 1, status: "FILLED" });
        const positions = (await api.get("/api/v1/portfolios/paper/positions")).body.positions as Array<{ quantity: number }>;
        expect(positions.length).toBeGreaterThan(0);
        expect(positions.every((p) => p.quantity === 0)).toBe(true);
      } finally {
        clearInterval(market);
        expect((await gw.interrupt()).code).toBe(0);
      }
    },
    120_000,
  );
});
