/**
 * The faults, one at a time, each injected while the order flow runs (test/faults/harness.ts).
 * `none` injects nothing: it must show all zeros and pass, or the harness itself is wrong.
 */
import { createEvent, encodeEnvelope } from "../../src/events/envelope.ts";
import { topicName } from "../../src/topics.ts";
import { RESTING_TOKEN, type Scenario } from "./harness.ts";

/** How long Kafka stays down in (b). */
export const KAFKA_DOWN_MS = 15_000;
/** How long PostgreSQL and Redis stay down in (c) and (d). */
const SERVICE_DOWN_MS = 5_000;

export const SCENARIOS: Scenario[] = [
  {
    id: "none",
    title: "no fault (the harness's own check)",
    mode: "distributed",
    fault: async () => {},
  },
  {
    id: "a",
    title: "gateway kill -9 mid-flow, restart",
    mode: "distributed",
    fault: async (ctx) => {
      await ctx.killGateway(0);
      await ctx.restartGateway(0); // the fault ends when the new process listens
    },
  },
  {
    id: "b",
    title: `Kafka down ${KAFKA_DOWN_MS / 1000} s (kill -9, restart)`,
    mode: "distributed",
    fault: async (ctx) => {
      await ctx.services!.infra.kill("kafka");
      await Bun.sleep(KAFKA_DOWN_MS);
      await ctx.services!.infra.start("kafka"); // ends when Kafka answers again
    },
  },
  {
    id: "c",
    title: `PostgreSQL restart (kill -9, down ${SERVICE_DOWN_MS / 1000} s)`,
    mode: "distributed",
    fault: async (ctx) => {
      await ctx.services!.infra.kill("postgres");
      await Bun.sleep(SERVICE_DOWN_MS);
      await ctx.services!.infra.start("postgres");
    },
  },
  {
    id: "d",
    title: `Redis restart (kill -9, down ${SERVICE_DOWN_MS / 1000} s, the gateway redeployed meanwhile); a resting LIMIT must fill after`,
    mode: "distributed",
    resting: true,
    fault: async (ctx) => {
      await ctx.services!.infra.kill("redis");
      await Bun.sleep(SERVICE_DOWN_MS);
      // A graceful restart (a deploy, not a second fault) while Redis is down: the stages then
      // start on an empty Redis, so anything kept only there must be rebuilt from the log and
      // the ledger. (With the gateway running throughout, a stage re-saves what it holds in
      // memory as soon as Redis is back, and a loss would go unseen.)
      await ctx.stopGateway(0);
      await ctx.services!.infra.start("redis");
      await ctx.restartGateway(0);
    },
    afterFault: async (ctx) => {
      // The market trades 3% lower: through the resting BUY's limit (2% under).
      ctx.setPrice(RESTING_TOKEN, 169_100);
    },
  },
  {
    id: "e",
    title: "two gateways sharing the stages, one kill -9",
    mode: "distributed",
    gateways: 2,
    fault: async (ctx) => {
      await ctx.killGateway(1); // not restarted: the fault ends at the kill
    },
  },
  {
    id: "f",
    title: "poison and wrong-type messages produced to the topics",
    mode: "distributed",
    fault: async (ctx) => {
      const ticks = topicName("marketTicks");
      const validated = topicName("signalsValidated", "paper");
      const raw = topicName("signalsRaw", "paper");
      const tag = (k: string) => `faults-poison-${k}-${crypto.randomUUID()}`;
      const markers: string[] = [];
      const messages: Array<{ topic: string; key: string; value: string | Uint8Array }> = [];
      for (const topic of [ticks, raw, validated]) {
        const m = tag("bytes");
        markers.push(m);
        messages.push({ topic, key: "738561", value: new TextEncoder().encode(`\u0000\u00ff not an envelope ${m}`) });
        const j = tag("json");
        markers.push(j);
        messages.push({ topic, key: "738561", value: JSON.stringify({ hello: j }) });
      }
      // Envelopes valid in themselves, on a topic that does not carry their type.
      const signal = createEvent({
        type: "signal.validated",
        source: "faults",
        broker: "paper",
        key: "738561",
        data: { signal_id: tag("signal"), strategy_id: "manual", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", checks: [] },
      });
      markers.push(signal.data.signal_id);
      messages.push({ topic: ticks, key: "738561", value: encodeEnvelope(signal) });
      const tick = createEvent({
        type: "market.tick",
        source: "faults",
        broker: "shared",
        key: "738561",
        data: { instrument_token: 738561, last_price: 129_000, exchange_ts: new Date().toISOString(), feed: tag("tick") },
      });
      markers.push(tick.data.feed);
      messages.push({ topic: validated, key: "738561", value: encodeEnvelope(tick) });
      ctx.expectDlq(markers);
      await ctx.produce(messages);
    },
  },
  {
    id: "g",
    title: "embedded gateway kill -9, restart (DATA_DIR)",
    mode: "embedded",
    fault: async (ctx) => {
      await ctx.killGateway(0);
      await ctx.restartGateway(0);
    },
  },
];
