/**
 * The strategy stage: ticks in, signals out. Strategies come from the strategies table and are
 * reloaded when it changes (added, changed or disabled through the API, without a restart).
 * A signal's id is derived from the tick's id and the strategy and broker, so a redelivered tick
 * produces the same ids and downstream dedup drops the repeat.
 */
import type { Broker } from "../../config.ts";
import { childOf } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import { StrategyRouter, type StrategyRow } from "../../strategies/index.ts";
import { topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";
import type { Stage } from "../stage.ts";

interface Row {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  instruments: string[];
  brokers: Broker[];
  enabled: boolean;
}

export async function strategyStage(ctx: StageContext): Promise<Stage> {
  const router = new StrategyRouter();
  const active = new Set<Broker>(ctx.config.activeBrokers);
  let version = "";

  async function reload(): Promise<void> {
    const [v] = await ctx.db.query<{ v: string }>("select coalesce(max(updated_at)::text, '') || '/' || count(*)::text as v from strategies");
    if (!v || v.v === version) return;
    const rows = await ctx.db.query<Row>("select id, kind, params, instruments::text[] as instruments, brokers, enabled from strategies");
    const present = new Set<string>();
    for (const r of rows) {
      present.add(r.id);
      const row: StrategyRow = { ...r, instruments: r.instruments.map(Number) } as StrategyRow;
      try {
        router.upsert(row);
      } catch (err) {
        ctx.logger.error({ strategy: r.id, err: (err as Error).message }, "strategy not loaded: bad configuration");
      }
    }
    for (const known of router.rows()) if (!present.has(known.id)) router.disable(known.id);
    ctx.logger.info({ strategies: rows.filter((r) => r.enabled).map((r) => r.id) }, version ? "strategies reloaded" : "strategies loaded");
    version = v.v;
  }
  await reload();

  return {
    idempotentTopics: [topicName("marketTicks")],
    topics: [topicName("marketTicks")],
    handle(e) {
      if (e.type !== "market.tick") return [];
      const out: Outgoing[] = [];
      for (const routed of router.onTick(e.data)) {
        for (const broker of routed.brokers) {
          if (!active.has(broker)) continue;
          const id = derivedId(e.id, `${routed.strategy_id}/${broker}`);
          const child = childOf(e, {
            type: "signal.generated",
            source: "strategy",
            broker,
            key: String(routed.signal.instrument_token),
            data: { ...routed.signal, signal_id: id, strategy_id: routed.strategy_id },
          });
          out.push({ topic: topicName("signalsRaw", broker), event: { ...child, id } });
        }
      }
      return out;
    },
    every: { ms: 1_000, run: reload },
  };
}
