/**
 * A control while the log is down: the API answers 503 LOG_UNAVAILABLE with Retry-After within
 * its bound, and nothing changed (the controls the log holds and the tables are as before). The
 * producer is a real Kafka client pointed at an address where no broker listens.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { startControlPlane, type ControlPlane } from "../../gateway/control.ts";
import { toApiError } from "../../gateway/api/errors.ts";
import { createServices } from "../../gateway/services/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { KafkaLog } from "../../src/log/kafka.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { topicSpecs } from "../../src/topics.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const quiet = pino({ level: "silent" });

describe("a control while the log is down", () => {
  let store: Store;
  let log: MemoryLog;
  let plane: ControlPlane;
  let dead: KafkaLog;
  let services: ReturnType<typeof createServices>;

  beforeAll(async () => {
    store = await openStore();
    log = new MemoryLog();
    await log.createTopics(topicSpecs(["paper"]));
    plane = await startControlPlane({ log, producer: log.producer(), sql: store.sql, brokers: ["paper"], logger: quiet });
    dead = new KafkaLog({ brokers: ["127.0.0.1:1"], retries: 0, connectTimeoutMs: 500 });
    services = createServices({ config: loadConfig({ ACTIVE_BROKERS: "paper" }), log, producer: dead.producer(), store, cache: new MemoryCache(), logger: quiet, instruments: NSE_MASTER, controls: plane });
  });
  afterAll(async () => {
    await plane?.close();
    await dead?.close();
    await log?.close();
    await store?.close();
  });

  test("the kill switch, the limits and a strategy change answer 503 LOG_UNAVAILABLE within 2 s, and nothing changed", async () => {
    const before = { risk: await services.risk.get("paper"), strategies: await services.strategies.list(), ends: await log.endOffsets("paper.control") };
    for (const call of [
      () => services.risk.setState("paper", "HALTED", "down"),
      () => services.risk.putLimits("paper", { max_order_quantity: 1 }),
      () => services.strategies.update("momentum_fast", { enabled: false }),
    ]) {
      const t0 = Date.now();
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(2_000);
      const api = toApiError(err);
      expect([api?.status, api?.code]).toEqual([503, "LOG_UNAVAILABLE"]);
      expect(Number(api?.headers["Retry-After"])).toBeGreaterThan(0);
    }
    expect({ risk: await services.risk.get("paper"), strategies: await services.strategies.list(), ends: await log.endOffsets("paper.control") }).toEqual(before);
    expect(plane.reader.state("paper").trading.state).toBe("ACTIVE");
  });
});
