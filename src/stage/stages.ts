/**
 * The pipeline's stages and their consumer groups: one group per stage, the same in every
 * gateway process, so several processes split a stage's partitions. Each stage module declares
 * its own input topics (src/stage/stages/*). A stage's companions run in its worker (no thread of
 * their own), each with its own group and consumer, so neither waits at the other's batches.
 */
import type { StageContext } from "./context.ts";
import type { Stage } from "./stage.ts";
import { executionStage } from "./stages/execution.ts";
import { ordersStage } from "./stages/orders.ts";
import { portfolioStage } from "./stages/portfolio.ts";
import { riskStage } from "./stages/risk.ts";
import { strategyStage } from "./stages/strategy.ts";

export const STAGE_NAMES = ["strategy", "risk", "execution", "portfolio"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export interface StageDef {
  groupId: string;
  build: (ctx: StageContext) => Promise<Stage>;
}

export const STAGES: Record<StageName, StageDef & { companions?: Record<string, StageDef> }> = {
  strategy: { groupId: "alpha-panda.strategy", build: strategyStage },
  risk: { groupId: "alpha-panda.risk", build: riskStage },
  execution: { groupId: "alpha-panda.execution", build: executionStage },
  // The orders read model beside the portfolio: a fill's ledger write never waits for it.
  portfolio: { groupId: "alpha-panda.portfolio", build: portfolioStage, companions: { orders: { groupId: "alpha-panda.portfolio.orders", build: ordersStage } } },
};
