/** The pipeline's health (GET /pipeline): what the desk polls. */
import { z } from "zod";

const count = z.number().int().min(0);
const ms = z.number().min(0);

export const stageHealthOut = z.object({
  name: z.string().meta({ description: "strategy, risk, execution, portfolio, or a companion of one (orders: the orders view beside the portfolio)." }),
  state: z.string().meta({ description: "The worker's state: starting, running, restarting, stopping, stopped." }),
  running: z.boolean(),
  restarts: count.meta({ description: "Times the worker was restarted after a crash." }),
  partitions: count.meta({ description: "Partitions this process's worker owns." }),
  handled: count.meta({ description: "Events handled since the worker started." }),
  produced: count.meta({ description: "Messages produced since the worker started." }),
  rate_per_s: count.nullable().meta({ description: "Events handled per second over the last few seconds; null until two samples are in." }),
  lag: count.nullable().meta({ description: "Messages its consumer group has yet to read (committed against end offsets); null when the log cannot say." }),
  dead_letters: count.meta({ description: "Messages it sent to a DLQ since the worker started." }),
});

export const pipelineResponse = z.object({
  stages: z.array(stageHealthOut),
  tick_to_fill_ms: z
    .object({ p50: ms, p99: ms, count: count.meta({ description: "Fills measured since the portfolio worker started." }) })
    .nullable()
    .meta({ description: "Tick → fill latency over the last seconds, as /metrics' alpha_panda_tick_to_fill_ms; null before the first fill." }),
  dlq: z.array(z.object({ topic: z.string(), depth: count.nullable().meta({ description: "Messages the DLQ holds; null when the log cannot say." }) })),
});
