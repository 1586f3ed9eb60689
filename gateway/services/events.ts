/**
 * Pushes for WebSocket subscribers. Events come from a consumer of this process's own (a group per
 * process, starting at the end), so every gateway process pushes to its own clients; each goes to
 * the listeners on the channels gateway/api/channels.ts gives it.
 *
 * Ticks are consumed only while someone watches them: otherwise this process would fetch and read
 * every tick for WebSocket subscribers that mostly do not exist. The tick consumer starts with the
 * first watch, at the end of market.ticks, and stops `ticksLingerMs` after the last watch ends.
 */
import { decodeEnvelope, newId, type Envelope } from "../../src/events/envelope.ts";
import type { Broker } from "../../src/config.ts";
import { AlphaError } from "../../src/errors.ts";
import type { Consumer, Log, LogMessage } from "../../src/log/port.ts";
import type { Logger } from "../../src/logger.ts";
import { topicName } from "../../src/topics.ts";
import { channelsOf, tickChannel } from "../api/channels.ts";
import type { PushedEvent, Services } from "../api/services.ts";

const TICKS_TOPIC = topicName("marketTicks");
/** The topics whose events are pushed, per broker. */
const PUSHED_TOPICS = ["signalsValidated", "signalsRejected", "ordersSubmitted", "ordersFilled", "ordersRejected", "ordersCancelled", "ordersFailed", "pnlSnapshots"] as const;
/** How long the tick consumer stays after the last tick subscription ends (a resubscribe is cheap). */
export const TICKS_LINGER_MS = 30_000;
/** How long after the tick consumer failed it is started again, while watches are held. */
const TICKS_RESTART_MS = 1_000;

type Listener = (channel: string, event: PushedEvent) => void;

export interface EventFanout {
  events: Services["events"];
  start(): Promise<void>;
  /** Hands an event that comes from no topic of ours (an OpenAlgo order) to the listeners of `channel`. */
  emit(channel: string, event: PushedEvent): void;
  /** New tick watches are refused from now on (the gateway is shutting down). */
  refuseWatches(): void;
  close(): Promise<void>;
}

/**
 * @example
 * const fanout = eventFanout({ log, activeBrokers: ["paper"], logger });
 * await fanout.start();
 * const release = await fanout.events.watchTicks();
 */
export function eventFanout(deps: { log: Log; activeBrokers: readonly Broker[]; logger: Logger; ticksLingerMs?: number }): EventFanout {
  /** Listener → which channels it has subscribers for (unknown: all of them). */
  const listeners = new Map<Listener, ((channel: string) => boolean) | undefined>();
  const wanted = (channel: string) => {
    for (const wants of listeners.values()) if (!wants || wants(channel)) return true;
    return false;
  };
  const topics = deps.activeBrokers.flatMap((broker) => PUSHED_TOPICS.map((id) => topicName(id, broker)));
  const consumer = deps.log.consumer({ groupId: `alpha-panda.gateway.${newId()}`, topics, startFrom: "latest", clientId: "gateway-fanout" });

  /** Decodes a batch and hands each event to every listener, on each of its channels. */
  async function push(batch: readonly LogMessage[]): Promise<void> {
    if (listeners.size === 0) return;
    for (const message of batch) {
      // A tick's channel is its key: ticks nobody watches are not even decoded (few are watched).
      if (message.topic === TICKS_TOPIC && !wanted(tickChannel(message.key))) continue;
      let event: Envelope;
      try {
        event = decodeEnvelope(message.value);
      } catch {
        continue;
      }
      for (const channel of channelsOf(message.topic, event)) for (const listener of listeners.keys()) listener(channel, event);
    }
  }

  const ticks = { watches: 0, consumer: undefined as Promise<Consumer> | undefined, stopTimer: undefined as Timer | undefined, closed: false };
  function startTicks(): Promise<Consumer> {
    const tickConsumer = deps.log.consumer({ groupId: `alpha-panda.gateway.ticks.${newId()}`, topics: [TICKS_TOPIC], startFrom: "latest", clientId: "gateway-ticks" });
    const started = tickConsumer.run(push).then(() => tickConsumer);
    ticks.consumer = started;
    tickConsumer.done.catch((err: unknown) => {
      if (ticks.consumer !== started) return;
      ticks.consumer = undefined;
      deps.logger.error({ err: (err as Error).message, retry_in_ms: TICKS_RESTART_MS }, "the WebSocket tick consumer stopped; starting it again");
      // Watches already held keep their subscribers: the consumer comes back for them.
      setTimeout(() => {
        if (ticks.watches > 0 && !ticks.consumer && !ticks.closed) startTicks().catch(() => {});
      }, TICKS_RESTART_MS);
    });
    started.catch(() => {
      if (ticks.consumer === started) ticks.consumer = undefined;
    });
    return started;
  }
  async function stopTicks(): Promise<void> {
    const running = ticks.consumer;
    ticks.consumer = undefined;
    clearTimeout(ticks.stopTimer);
    await running?.then((tickConsumer) => tickConsumer.close()).catch(() => {});
  }
  async function watchTicks(): Promise<() => void> {
    if (ticks.closed) throw new AlphaError("LOG_CLOSED", "the gateway is shutting down");
    ticks.watches++;
    clearTimeout(ticks.stopTimer);
    try {
      await (ticks.consumer ?? startTicks());
    } catch (err) {
      ticks.watches--;
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--ticks.watches === 0 && !ticks.closed) ticks.stopTimer = setTimeout(() => void stopTicks(), deps.ticksLingerMs ?? TICKS_LINGER_MS);
    };
  }

  return {
    events: {
      subscribe(listener, wants) {
        listeners.set(listener, wants);
        return () => listeners.delete(listener);
      },
      watchTicks,
    },
    start: () => consumer.run(push),
    emit(channel, event) {
      for (const [listener, wants] of listeners) if (!wants || wants(channel)) listener(channel, event);
    },
    refuseWatches() {
      ticks.closed = true;
    },
    async close() {
      ticks.closed = true;
      await Promise.all([consumer.close(), stopTicks()]);
    },
  };
}
