/** The pipeline's health as GET /api/v1/pipeline answers it (gateway/api/schemas/pipeline.ts). */

export interface StageHealth {
  name: string;
  running: boolean;
  restarts: number;
  partitions: number;
  handled: number;
  produced: number;
  rate_per_s: number | null;
  lag: number | null;
  dead_letters: number;
}

export interface PipelineHealth {
  stages: StageHealth[];
  tick_to_fill_ms: { p50: number; p99: number; count: number } | null;
  dlq: Array<{ topic: string; depth: number }>;
}
