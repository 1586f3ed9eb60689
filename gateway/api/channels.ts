/**
 * The WebSocket channels, named in this one place: `orders.<broker>`, `portfolio.<broker>` and
 * `signals.<broker>` for the active brokers, `ticks.<instrument_token>` for known instruments.
 * Which events go to which channel is decided here too (the services' fan-out asks
 * {@link channelsOf}); the hub (gateway/api/ws.ts) checks what clients subscribe to with
 * {@link isChannel}.
 */
import type { Broker } from "../../src/config.ts";
import type { Envelope } from "../../src/events/envelope.ts";

/** The channels each active broker has. */
export const BROKER_CHANNELS = ["orders", "portfolio", "signals"] as const;

/** A broker's channel of one kind. */
export const brokerChannel = (kind: (typeof BROKER_CHANNELS)[number], broker: Broker | string): string => `${kind}.${broker}`;

/** The channel of an instrument's ticks (its token is also the key of its messages on market.ticks). */
export const tickChannel = (token: number | string): string => `ticks.${token}`;

export const isTickChannel = (channel: string): boolean => channel.startsWith("ticks.");

/** The orders of a followed OpenAlgo instance (OPENALGO_SOURCE_TOPIC): read-only, pushed as `openalgo.order`. */
export const OPENALGO_CHANNEL = "orders.openalgo";

/**
 * The channels an event goes to, from its topic and envelope.
 *
 * @example
 * channelsOf("paper.orders.filled", filled); // ["orders.paper"]
 */
export function channelsOf(topic: string, event: Envelope): string[] {
  if (event.type === "market.tick") return [tickChannel((event.data as { instrument_token: number }).instrument_token)];
  if (event.broker === "shared") return [];
  if (event.type === "pnl.snapshot") return [brokerChannel("portfolio", event.broker)];
  if (event.type.startsWith("signal.")) return [brokerChannel("signals", event.broker)];
  if (event.type.startsWith("order.") && topic.includes(".orders.")) return [brokerChannel("orders", event.broker)];
  return [];
}

const BROKER_CHANNEL = new RegExp(`^(${BROKER_CHANNELS.join("|")})\\.([a-z]+)$`);
const TICK_CHANNEL = /^ticks\.([1-9]\d{0,9})$/;

/**
 * Whether a client may subscribe to `channel`: a broker channel of an active broker, or the ticks
 * of an instrument the master knows.
 *
 * @example
 * isChannel("orders.paper", { activeBrokers: ["paper"], knownInstrument: (t) => t === 738561 }); // true
 */
export function isChannel(channel: string, here: { activeBrokers: readonly Broker[]; knownInstrument(token: number): boolean; openAlgoSource?: boolean }): boolean {
  if (channel === OPENALGO_CHANNEL) return here.openAlgoSource === true;
  const broker = BROKER_CHANNEL.exec(channel);
  if (broker) return here.activeBrokers.some((active) => active === broker[2]);
  const ticks = TICK_CHANNEL.exec(channel);
  return ticks !== null && here.knownInstrument(Number(ticks[1]));
}

/** What a client may subscribe to, for an error message. */
export const channelsHelp = (activeBrokers: readonly Broker[], openAlgoSource = false): string =>
  `${BROKER_CHANNELS.map((kind) => `${kind}.<broker>`).join(", ")} (broker: ${activeBrokers.join(", ")})${openAlgoSource ? `, ${OPENALGO_CHANNEL}` : ""} or ticks.<instrument_token>`;

/**
 * Who holds which channel, for the hub: each socket's channels are also in its own
 * `data.channels`. Ticks are consumed only while some socket holds a ticks channel: one tick watch
 * (Services.events.watchTicks) is held from the first such channel until the last one is left,
 * however many sockets and channels.
 *
 * @example
 * const subscribers = new ChannelSubscribers<WsSocket>(() => services.events.watchTicks());
 * subscribers.join(socket, "ticks.738561");
 * await subscribers.ticksWatched(); // every tick published from now on is pushed
 */
export class ChannelSubscribers<Socket extends { data: { channels: Set<string> } }> {
  readonly #byChannel = new Map<string, Set<Socket>>();
  /** Distinct ticks channels held by any socket. */
  #tickChannels = 0;
  #tickWatch: Promise<() => void> | undefined;

  constructor(private readonly watchTicks: () => Promise<() => void>) {}

  /** The sockets on `channel`, if any. */
  of(channel: string): ReadonlySet<Socket> | undefined {
    return this.#byChannel.get(channel);
  }

  /** Channels held by at least one socket. */
  get size(): number {
    return this.#byChannel.size;
  }

  join(socket: Socket, channel: string): void {
    socket.data.channels.add(channel);
    let sockets = this.#byChannel.get(channel);
    if (!sockets) {
      this.#byChannel.set(channel, (sockets = new Set()));
      if (isTickChannel(channel)) this.#tickChannels++;
    }
    sockets.add(socket);
  }

  leave(socket: Socket, channel: string): void {
    socket.data.channels.delete(channel);
    const sockets = this.#byChannel.get(channel);
    sockets?.delete(socket);
    if (sockets?.size === 0) {
      this.#byChannel.delete(channel);
      if (isTickChannel(channel) && --this.#tickChannels === 0) this.releaseTicks();
    }
  }

  leaveAll(socket: Socket): void {
    for (const channel of [...socket.data.channels]) this.leave(socket, channel);
  }

  /** Resolves once ticks are being consumed; a watch that fails is not kept (the next call tries again). */
  ticksWatched(): Promise<unknown> {
    if (!this.#tickWatch) {
      const watch = this.watchTicks();
      this.#tickWatch = watch;
      watch.catch(() => {
        if (this.#tickWatch === watch) this.#tickWatch = undefined;
      });
    }
    return this.#tickWatch;
  }

  /** Ends the tick watch (when the last ticks channel is left, and at close). */
  releaseTicks(): void {
    const watch = this.#tickWatch;
    this.#tickWatch = undefined;
    watch?.then((release) => release(), () => {});
  }
}
