/**
 * The pipeline's stages and their consumer groups: one group per stage, the same in every
 * gateway process, so several processes split a stage's partitions. Each stage module declares
 * its own input topics (src/stage/stages/*).
 */
import type { StageContext } from "./context.ts";
import type { Stage } from "./stage.ts";
import { executionStage } from "./stages/execution.ts";
import { portfolioStage } from "./stages/portfolio.ts";
import { riskStage } from "./stages/risk.ts";
import { strategyStage } from "./stages/strategy.ts";

export const STAGE_NAMES = ["strategy", "risk", "execution", "portfolio"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export const STAGES: Record<StageName, { groupId: string; build: (ctx: StageContext) => Promise<Stage> }> = {
  strategy: { groupId: "alpha-panda.strategy", build: strategyStage },
  risk: { groupId: "alpha-panda.risk", build: riskStage },
  execution: { groupId: "alpha-panda.execution", build: executionStage },
  portfolio: { groupId: "alpha-panda.portfolio", build: portfolioStage },
};
