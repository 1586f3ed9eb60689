/** The pipeline's health as GET /api/v1/pipeline answers it: the server's own types. */
export type { PipelineView as PipelineHealth, StageHealth } from "../../api/services.ts";
