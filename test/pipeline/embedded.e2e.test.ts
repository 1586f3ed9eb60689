import { expect, test } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway } from "../support/gateway-process.ts";
import { KEY, pipelineScenarios } from "./scenarios.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

pipelineScenarios("embedded", { env: async () => ({}) });

test("embedded with no settings but a key: the simulated feed and the seeded strategies produce fills within 30 s", async () => {
  const gw = spawnGateway({ PORT: "0", BOOTSTRAP_API_KEY: KEY });
  try {
    const api = apiClient(await gw.url(30_000), KEY);
    const started = Date.now();
    // The orders read model follows the fills by up to ORDERS_EVERY_MS (src/stage/stages/orders.ts).
    const { positions, filled } = await until(
      "strategy positions and their filled orders",
      async () => {
        const p = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
        if (!p?.positions?.some((x: any) => x.strategy_id !== "manual")) return undefined;
        const orders = (await api.get("/api/v1/orders?status=FILLED")).body.orders;
        return orders?.length > 0 ? { positions: p.positions, filled: orders } : undefined;
      },
      30_000,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(positions.length).toBeGreaterThan(0);
    expect(filled.length).toBeGreaterThan(0);
    expect(filled.every((o: any) => o.strategy_id === "momentum_fast" || o.strategy_id === "mean_reversion_bank")).toBe(true);
  } finally {
    const { code } = await gw.interrupt();
    expect(code).toBe(0);
  }
}, 60_000);
