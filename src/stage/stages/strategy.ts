/**
 * The strategy stage: ticks in, signals out. Strategies are `control.strategy` commands on each
 * broker's control topic (added, changed, enabled or disabled through the API, without a restart),
 * applied in log order from a ControlReader; at build it applies everything the topics hold.
 * Each signal carries `strategy_offset`, the offset of the definition it was generated under, so
 * risk can refuse one generated under a definition it knows to be superseded.
 * A signal's id is derived from the tick's id and the strategy and broker, so a redelivered tick
 * produces the same ids and downstream dedup drops the repeat.
 * It is the stage that reads every tick, so it also keeps the quotes (src/market/quotes.ts).
 */
import type { Broker } from "../../config.ts";
import { ControlReader } from "../../control/index.ts";
import { childOf } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import { flushQuotes, QUOTES_FLUSH_MS, QUOTES_KEY, QuoteBook } from "../../market/quotes.ts";
import { StrategyRouter } from "../../strategies/index.ts";
import { topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";
import type { Stage } from "../stage.ts";

export async function strategyStage(ctx: StageContext): Promise<Stage> {
  const router = new StrategyRouter({ lotSize: (token) => ctx.instruments.byToken(token)?.lot_size });
  const active = new Set<Broker>(ctx.config.activeBrokers);
  const reader = new ControlReader(ctx.log, ctx.config.activeBrokers, { name: "strategy", logger: ctx.logger });
  let loaded = false;
  reader.onCommand((c) => {
    if (c.command.type !== "control.strategy") return;
    const def = c.command.data;
    try {
      router.upsert(def);
    } catch (err) {
      ctx.logger.error({ strategy: def.id, err: (err as Error).message }, "strategy not loaded: bad configuration");
      return;
    }
    if (loaded) ctx.logger.info({ strategy: def.id, broker: c.broker, enabled: def.enabled, offset: c.offset }, "strategy changed");
  });
  await reader.start();
  await reader.caughtUp();
  loaded = true;
  ctx.logger.info({ strategies: router.rows().filter((r) => r.enabled).map((r) => r.id) }, "strategies loaded");

  /** The offset of the definition `id` trades `broker` under, or undefined when that broker's controls do not let it. */
  function definitionOffset(id: string, broker: Broker): number | undefined {
    const known = reader.state(broker).strategies[id];
    return known && known.def.enabled && known.def.brokers.includes(broker) ? known.offset : undefined;
  }

  const quotes = new QuoteBook();
  quotes.seed(await ctx.cache.hgetall(QUOTES_KEY));
  let owned: string | undefined;

  return {
    idempotentTopics: [topicName("marketTicks")],
    topics: [topicName("marketTicks")],
    every: { ms: QUOTES_FLUSH_MS, run: () => flushQuotes(quotes, ctx.cache) },
    async onBatch(consumer) {
      const now = JSON.stringify(consumer.assignments().sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition));
      if (now === owned) return;
      const moved = owned !== undefined;
      owned = now;
      // Partitions moved: the quotes of instruments this worker gains are the last ones their previous owner wrote.
      if (moved) {
        await flushQuotes(quotes, ctx.cache);
        quotes.seed(await ctx.cache.hgetall(QUOTES_KEY));
      }
    },
    handle(e) {
      if (e.type !== "market.tick") return [];
      quotes.onTick(e.data);
      const out: Outgoing[] = [];
      for (const routed of router.onTick(e.data)) {
        for (const broker of routed.brokers) {
          if (!active.has(broker)) continue;
          // A definition another broker's topic already holds and this one's not yet: not traded here yet.
          const offset = definitionOffset(routed.strategy_id, broker);
          if (offset === undefined) continue;
          const id = derivedId(e.id, `${routed.strategy_id}/${broker}`);
          const child = childOf(e, {
            type: "signal.generated",
            source: "strategy",
            broker,
            key: String(routed.signal.instrument_token),
            data: { ...routed.signal, signal_id: id, strategy_id: routed.strategy_id, strategy_offset: offset },
          });
          out.push({ topic: topicName("signalsRaw", broker), event: { ...child, id } });
        }
      }
      return out;
    },
  };
}
