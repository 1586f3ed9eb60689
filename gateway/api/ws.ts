/**
 * The WebSocket hub behind /ws, on Bun.serve's websocket handlers.
 *
 * - Authenticated at the upgrade: `Authorization: Bearer <key>`, or `?api_key=<key>` because
 *   browsers cannot set headers on a WebSocket (a query string can end up in proxy logs: give
 *   browsers a `read` key). Any valid key may subscribe.
 * - Client → server: {"action":"subscribe"|"unsubscribe","channels":[…]} and {"action":"ping"}.
 *   Server → client: {"type":"subscribed"|"unsubscribed","channels":[…]}, {"type":"pong"},
 *   {"type":"error","code","message","details"}, and pushes
 *   {"channel","id","type","ts","correlation_id","data"} (id and type are the event envelope's;
 *   money in data as decimal strings, as in REST).
 * - Channels (gateway/api/channels.ts): orders.<broker>, portfolio.<broker>, signals.<broker>
 *   for active brokers, ticks.<instrument_token> for known instruments. A subscribe naming a bad
 *   channel subscribes to none of them and the error names every bad one.
 * - Slow consumers are closed, not fed: a socket with more than `maxBufferedBytes` unsent is
 *   closed with 1013 ("try again later") and leaves every channel, so its buffer never grows past
 *   the bound plus one message. Dropping pushes instead would leave a client with a silently
 *   wrong view of its orders; a closed client reconnects and reads the state over REST.
 * - Heartbeat: every `heartbeatMs` the server pings each socket; one that has sent nothing (no
 *   pong, no message) since the previous ping is dead and is terminated.
 * - Ticks are consumed only while some socket holds a ticks.* channel (services.events.watchTicks):
 *   the first such subscribe is answered once the tick consumer runs, so every tick published
 *   after "subscribed" is pushed. A socket's messages are handled in the order they came.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { z } from "zod";
import type { Logger } from "../../src/logger.ts";
import { errorBody } from "../app.ts";
import { allows, bearerKey, type ApiKeys, type Scope } from "./auth.ts";
import { ChannelSubscribers, channelsHelp, isChannel, isTickChannel } from "./channels.ts";
import { ApiError, toApiError } from "./errors.ts";
import { parseBounded } from "./json.ts";
import type { Services } from "./services.ts";
import { problemsOf } from "./validate.ts";
import { eventData } from "./views.ts";

export interface WsOptions {
  /** The upgrade path. Default "/ws". */
  path?: string;
  /** Ping interval; a socket silent for a whole interval is terminated. Default 30 000. */
  heartbeatMs?: number;
  /** Unsent bytes past which a socket is closed with 1013. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Channels one socket may hold. Default 200. */
  maxChannels?: number;
  /** Largest message a client may send. Default 64 KiB. */
  maxMessageBytes?: number;
}

/** What each socket carries. */
export interface WsData {
  id: number;
  scopes: Scope[];
  channels: Set<string>;
  alive: boolean;
  /** The message being handled, when it waits (a subscribe to ticks waits for their consumer). */
  pending?: Promise<void>;
}

export type WsSocket = ServerWebSocket<WsData>;

export interface WsHandlers {
  /** For Bun.serve({ websocket }). */
  websocket: WebSocketHandler<WsData>;
  /** True when the request is for the WebSocket path. */
  isUpgrade(req: Request): boolean;
  /** Authenticates and upgrades; undefined when upgraded (return that from fetch), else the error response. */
  upgrade(req: Request, server: Server<WsData>): Promise<Response | undefined>;
  /** Closes every socket (1001) and stops listening to the services. */
  close(): void;
  stats(): { sockets: number; channels: number; pushed: number; closedSlow: number; closedDead: number };
}

const clientMessage = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("subscribe"), channels: z.array(z.string().max(64)).min(1).max(100) }),
  z.strictObject({ action: z.literal("unsubscribe"), channels: z.array(z.string().max(64)).min(1).max(100) }),
  z.strictObject({ action: z.literal("ping") }),
]);

/** The path of an absolute request URL, without parsing all of it (this runs on every request). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

const respond = (e: ApiError) => Response.json(errorBody(e.code, e.message, e.details), { status: e.status, headers: e.headers });

/**
 * @example
 * const ws = createWsHandlers({ services, auth: keys, logger });
 * Bun.serve({ fetch: (req, srv) => (ws.isUpgrade(req) ? ws.upgrade(req, srv) : app.fetch(req, srv)), websocket: ws.websocket });
 */
export function createWsHandlers(deps: { services: Services; auth: ApiKeys; logger: Logger; options?: WsOptions }): WsHandlers {
  const { services, auth, logger } = deps;
  const path = deps.options?.path ?? "/ws";
  const heartbeatMs = deps.options?.heartbeatMs ?? 30_000;
  const maxBuffered = deps.options?.maxBufferedBytes ?? 1024 * 1024;
  const maxChannels = deps.options?.maxChannels ?? 200;
  const maxMessage = deps.options?.maxMessageBytes ?? 64 * 1024;

  const sockets = new Set<WsSocket>();
  const subscribers = new ChannelSubscribers<WsSocket>(() => services.events.watchTicks());
  const counts = { pushed: 0, closedSlow: 0, closedDead: 0 };
  let nextId = 1;

  const here = { activeBrokers: services.activeBrokers, knownInstrument: (token: number) => services.instruments.byToken(token) !== undefined, openAlgoSource: services.openAlgo !== undefined };

  function leaveAll(ws: WsSocket): void {
    subscribers.leaveAll(ws);
    sockets.delete(ws);
  }

  /** Sends, or closes the socket when it is too far behind. False when the socket is gone. */
  function send(ws: WsSocket, text: string): boolean {
    if (ws.readyState !== 1) return false;
    // -1: queued under backpressure (fine below the bound); 0: dropped by Bun's own hard limit.
    const status = ws.send(text);
    const buffered = ws.getBufferedAmount();
    if (status !== 0 && buffered <= maxBuffered) return true;
    counts.closedSlow++;
    logger.warn({ socket: ws.data.id, buffered, bound: maxBuffered }, "closing a slow WebSocket consumer (1013)");
    leaveAll(ws);
    ws.close(1013, `too slow: more than ${maxBuffered} bytes unsent; reconnect and catch up over REST`);
    return false;
  }

  const reply = (ws: WsSocket, msg: Record<string, unknown>) => send(ws, JSON.stringify(msg));
  const fail = (ws: WsSocket, code: string, message: string, details?: unknown) => reply(ws, { type: "error", ...errorBody(code, message, details).error });

  function onMessage(ws: WsSocket, raw: string | Buffer): void {
    ws.data.alive = true;
    const run = () => handleMessage(ws, raw);
    const handling = ws.data.pending ? ws.data.pending.then(run) : run();
    if (!handling) return;
    ws.data.pending = handling;
    void handling.finally(() => {
      if (ws.data.pending === handling) ws.data.pending = undefined;
    });
  }

  function handleMessage(ws: WsSocket, raw: string | Buffer): Promise<void> | undefined {
    if (typeof raw !== "string") return void fail(ws, "BAD_JSON", "send JSON text frames, not binary");
    // Bounded before it is parsed: a deeply nested message then costs one pass, not a walk.
    const json = parseBounded(raw, { root: "message" });
    if (!json.ok && json.syntax) return void fail(ws, "BAD_JSON", `not valid JSON: ${json.problems[0]!.message}`);
    if (!json.ok) return void fail(ws, "VALIDATION_FAILED", `invalid message: ${json.problems.map((p) => p.message).join("; ")}`, json.problems);
    const parsed = clientMessage.safeParse(json.value, { reportInput: true });
    if (!parsed.success) {
      const problems = problemsOf(parsed.error.issues, "message");
      return void fail(ws, "VALIDATION_FAILED", `invalid message: ${problems.map((p) => p.message).join("; ")}`, problems);
    }
    const msg = parsed.data;
    if (msg.action === "ping") return void reply(ws, { type: "pong" });
    const channels = [...new Set(msg.channels)];
    if (msg.action === "unsubscribe") {
      for (const ch of channels) if (ws.data.channels.has(ch)) subscribers.leave(ws, ch);
      return void reply(ws, { type: "unsubscribed", channels });
    }
    const bad = channels.filter((ch) => !isChannel(ch, here));
    if (bad.length > 0) {
      const named = bad.map((b) => JSON.stringify(b)).join(", ");
      return void fail(ws, "BAD_CHANNEL", `unknown channel${bad.length === 1 ? "" : "s"} ${named}: channels are ${channelsHelp(services.activeBrokers, here.openAlgoSource)}`, { channels: bad });
    }
    const fresh = channels.filter((ch) => !ws.data.channels.has(ch));
    if (ws.data.channels.size + fresh.length > maxChannels) {
      return void fail(ws, "TOO_MANY_CHANNELS", `a socket may hold at most ${maxChannels} channels`);
    }
    for (const ch of fresh) subscribers.join(ws, ch);
    if (!channels.some(isTickChannel)) return void reply(ws, { type: "subscribed", channels });
    return subscribers.ticksWatched().then(
      () => void reply(ws, { type: "subscribed", channels }),
      (err: unknown) => {
        // None of this subscribe's channels: as with a bad channel, all or nothing.
        for (const ch of fresh) if (ws.data.channels.has(ch)) subscribers.leave(ws, ch);
        const apiError = toApiError(err) ?? new ApiError("INTERNAL", "internal error; the gateway log has the details");
        if (apiError.code === "INTERNAL") logger.error({ err }, "cannot start consuming ticks for WebSocket subscribers");
        fail(ws, apiError.code, `cannot subscribe: ticks cannot be consumed now (${apiError.message}); try again`);
      },
    );
  }

  const stopListening = services.events.subscribe((channel, event) => {
    const onChannel = subscribers.of(channel);
    if (!onChannel) return;
    try {
      const text = JSON.stringify({ channel, id: event.id, type: event.type, ts: event.ts, correlation_id: event.correlation_id, data: eventData(event.data) });
      for (const ws of [...onChannel]) if (send(ws, text)) counts.pushed++;
    } catch (err) {
      // Never into the services' emitter: one bad event must not stop the others.
      logger.error({ err, channel, event_id: event.id }, "cannot push an event to WebSocket subscribers");
    }
  }, (channel) => subscribers.of(channel) !== undefined);

  const heartbeat = setInterval(() => {
    for (const ws of [...sockets]) {
      if (!ws.data.alive) {
        counts.closedDead++;
        leaveAll(ws);
        ws.terminate();
        continue;
      }
      ws.data.alive = false;
      ws.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  return {
    websocket: {
      maxPayloadLength: maxMessage,
      // Bun's own cap, a backstop above ours (send() drops past it, and we then close).
      backpressureLimit: maxBuffered + 2 * maxMessage + 1024 * 1024,
      closeOnBackpressureLimit: false,
      // Liveness is the heartbeat above; Bun's idle timeout would also close a quiet but live reader.
      idleTimeout: 0,
      sendPings: false,
      open(ws) {
        sockets.add(ws);
      },
      message: onMessage,
      pong(ws) {
        ws.data.alive = true;
      },
      close(ws) {
        leaveAll(ws);
      },
    },

    isUpgrade: (req) => pathOf(req.url) === path,

    async upgrade(req, server) {
      const key = bearerKey(req.headers.get("authorization")) ?? new URL(req.url).searchParams.get("api_key") ?? undefined;
      const challenge = { "WWW-Authenticate": 'Bearer realm="alpha-panda"' };
      if (!key) return respond(new ApiError("UNAUTHORIZED", "an API key is required: Authorization: Bearer <key>, or ?api_key=<key>", { headers: challenge }));
      let scopes: Scope[] | undefined;
      try {
        scopes = await auth.verify(key);
      } catch (err) {
        const e = toApiError(err);
        if (!e) logger.error({ err }, "cannot check a WebSocket API key");
        return respond(e ?? new ApiError("INTERNAL", "internal error; the gateway log has the details"));
      }
      if (!scopes) return respond(new ApiError("UNAUTHORIZED", "the API key is unknown or revoked", { headers: challenge }));
      if (!allows(scopes, "read")) return respond(new ApiError("FORBIDDEN", "the API key lacks the read scope"));
      const data: WsData = { id: nextId++, scopes, channels: new Set(), alive: true };
      if (server.upgrade(req, { data })) return undefined;
      return respond(new ApiError("UPGRADE_REQUIRED", "expected a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)"));
    },

    close() {
      stopListening();
      subscribers.releaseTicks();
      clearInterval(heartbeat);
      for (const ws of [...sockets]) {
        leaveAll(ws);
        ws.close(1001, "server shutting down");
      }
    },

    stats: () => ({ sockets: sockets.size, channels: subscribers.size, ...counts }),
  };
}
