/**
 * The pipeline's stages and their consumer groups: one group per stage, the same in every
 * gateway process, so several processes split a stage's partitions. Each stage module declares
 * its own input topics (src/stage/stages/*). A stage's companions run in its worker (no thread of
 * their own), each with its own group and consumer, so neither waits at the other's batches.
 */
import type { Config } from "../config.ts";
import type { EventType } from "../events/payloads.ts";
import type { StageContext } from "./context.ts";
import type { Stage } from "./stage.ts";
import { executionStage } from "./stages/execution.ts";
import { openAlgoEventsStage } from "./stages/openalgo-events.ts";
import { ordersStage } from "./stages/orders.ts";
import { portfolioStage } from "./stages/portfolio.ts";
import { riskStage } from "./stages/risk.ts";
import { strategyStage } from "./stages/strategy.ts";

export const STAGE_NAMES = ["strategy", "risk", "execution", "portfolio"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export interface StageDef {
  groupId: string;
  build: (ctx: StageContext) => Promise<Stage>;
  /**
   * The event types its handler acts on. Every type its input topics carry must be here
   * (test/topics.unit.test.ts); the processor dead-letters any other, so none is ignored unseen.
   */
  handles: readonly EventType[];
  /** Whether it runs with this configuration (default: always). */
  enabled?: (config: Config) => boolean;
}

/** Every event of an order's lifecycle, as the orders read model takes them. */
const LIFECYCLE: readonly EventType[] = [
  "signal.validated",
  "signal.rejected",
  "order.submitted",
  "order.filled",
  "order.rejected",
  "order.cancel_rejected",
  "order.cancelled",
  "order.failed",
  "order.modified",
  "order.modify_rejected",
  // Read from signals.validated beside the signals and left out (the order.modified that follows says what changed).
  "order.modify_validated",
];

export const STAGES: Record<StageName, StageDef & { companions?: Record<string, StageDef> }> = {
  strategy: { groupId: "alpha-panda.strategy", build: strategyStage, handles: ["market.tick"] },
  risk: { groupId: "alpha-panda.risk", build: riskStage, handles: ["market.tick", "signal.generated", "order.modify", "order.filled"] },
  execution: { groupId: "alpha-panda.execution", build: executionStage, handles: ["market.tick", "signal.validated", "order.modify_validated", "order.cancel", "order.cancel_open"] },
  // The orders read model beside the portfolio: a fill's ledger write never waits for it.
  portfolio: {
    groupId: "alpha-panda.portfolio",
    build: portfolioStage,
    handles: ["market.tick", "order.filled"],
    companions: {
      orders: { groupId: "alpha-panda.portfolio.orders", build: ordersStage, handles: LIFECYCLE },
      // With OPENALGO_EVENTS_TOPIC: every type of the order topics and signals.rejected (a refused cancel or modify publishes nothing).
      "openalgo-events": {
        groupId: "alpha-panda.portfolio.openalgo-events",
        build: openAlgoEventsStage,
        handles: ["order.submitted", "order.modified", "order.filled", "order.rejected", "order.cancel_rejected", "order.modify_rejected", "order.cancelled", "order.failed", "signal.rejected"],
        enabled: (config) => config.openAlgo.eventsTopic !== undefined,
      },
    },
  },
};

/** Every stage's and companion's base group id (src/stage/groups.ts adds the broker set on Kafka). */
export const STAGE_GROUP_BASES: readonly string[] = Object.values(STAGES).flatMap((def) => [def.groupId, ...Object.values(def.companions ?? {}).map((c) => c.groupId)]);
