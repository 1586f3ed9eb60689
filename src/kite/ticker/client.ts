/**
 * A Kite ticker connection: subscribe instruments in a mode, receive decoded ticks and the
 * account's order updates, and stay connected. A dropped connection, a failed handshake, or a
 * silent one (no frame, not even the 1-second heartbeat, within `watchdogMs`) is retried with
 * capped exponential backoff, and every subscription is restored in its mode. A refused token
 * (HTTP 401/403 at the handshake) stops the ticker unless `retryOnTokenRejected` is set:
 * retrying a bad token only gets the api key rate-limited. Bytes are the codec's business.
 */
import { backoffDelay } from "./backoff.ts";
import { decodeFrame } from "./codec.ts";
import { KiteTickerError } from "./errors.ts";
import { tickerSettings, type KiteTickerOptions, type KiteTickerSettings } from "./options.ts";
import { Subscriptions, type KiteRequest } from "./subscriptions.ts";
import type { KiteMode, KiteTick } from "./types.ts";

export type { KiteTickerOptions } from "./options.ts";

/** Why a socket ended, and what happens next. */
export interface KiteDisconnect {
  /** Whether this socket had opened (false: the attempt itself failed). */
  wasConnected: boolean;
  code: number;
  reason: string;
  error?: KiteTickerError;
  willReconnect: boolean;
  delayMs?: number;
  attempt: number;
}

export interface KiteTickerHandlers {
  /** Decoded packets of one frame (heartbeats are not passed on). */
  onTicks?(ticks: KiteTick[]): void;
  /** A `{"type":"order"}` postback: the order as Kite's REST API would return it. */
  onOrderUpdate?(order: Record<string, unknown>): void;
  /** Any other text message (`{"type":"message"}` alerts, types we do not know). */
  onMessage?(message: { type: string; data: unknown }): void;
  /**
   * Token refused (each time, when retrying it), the ticker stopping for good (the error that
   * stopped it), Kite's error messages, unreadable frames, a handler that threw. Ordinary drops
   * that will be retried go to onDisconnect only.
   */
  onError?(error: KiteTickerError): void;
  onConnect?(): void;
  onDisconnect?(info: KiteDisconnect): void;
}

export type KiteTickerState = "idle" | "connecting" | "open" | "waiting" | "closed";

/**
 * @example
 * const ticker = new KiteTicker({ apiKey, accessToken }, {
 *   onTicks: (ticks) => publish(ticks.map((t) => toMarketTick(t, new Date())).filter(Boolean)),
 *   onOrderUpdate: (order) => log.info({ order }, "order update"),
 *   onError: (err) => log.error({ err }, "kite ticker"),
 * });
 * ticker.subscribe([408065, 884737], "full");
 * await ticker.connect();
 * ticker.close();
 */
export class KiteTicker {
  readonly handlers: KiteTickerHandlers;
  private readonly settings: KiteTickerSettings;
  private readonly subs: Subscriptions;
  private _state: KiteTickerState = "idle";
  private ws: WebSocket | undefined;
  private opened = false;
  private sawFrame = false;
  private handshakeError: string | undefined;
  private lastFrameAt = 0;
  private attempt = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ready: PromiseWithResolvers<void> | undefined;

  constructor(options: KiteTickerOptions, handlers: KiteTickerHandlers = {}) {
    this.settings = tickerSettings(options);
    this.handlers = handlers;
    this.subs = new Subscriptions(this.settings.maxInstruments);
  }

  get state(): KiteTickerState {
    return this._state;
  }

  /** Consecutive failed attempts so far (0 once frames flow). */
  get attempts(): number {
    return this.attempt;
  }

  /** Every subscribed token and its mode. */
  subscriptions(): [number, KiteMode][] {
    return this.subs.entries();
  }

  /**
   * Starts connecting. Resolves on the first open; rejects if the ticker stops for good first
   * (token refused, attempts exhausted, `close()`). Safe to ignore: errors also go to onError.
   */
  connect(): Promise<void> {
    if (this._state === "closed") return Promise.reject(new KiteTickerError("bad_request", "the ticker is closed"));
    if (!this.ready) {
      this.ready = Promise.withResolvers<void>();
      this.ready.promise.catch(() => {});
      if (this._state === "open") this.ready.resolve();
    }
    if (this._state === "idle") this.open();
    return this.ready.promise;
  }

  /** Subscribes (default mode "quote", Kite's own); refuses past 3000 instruments. Sent now if connected, else on connect. */
  subscribe(tokens: readonly number[], mode: KiteMode = "quote"): void {
    this.send(this.subs.subscribe(tokens, mode));
  }

  unsubscribe(tokens: readonly number[]): void {
    this.send(this.subs.unsubscribe(tokens));
  }

  /** Changes the mode of tokens already subscribed. */
  setMode(mode: KiteMode, tokens: readonly number[]): void {
    this.send(this.subs.setMode(mode, tokens));
  }

  /** Stops for good: no reconnect, timers cleared, the socket closed. */
  close(): void {
    if (this._state === "closed") return;
    this._state = "closed";
    this.clearTimers();
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.close(1000, "closed by the client");
      this.emit("onDisconnect", { wasConnected: this.opened, code: 1000, reason: "closed by the client", willReconnect: false, attempt: this.attempt });
    }
    this.ready?.reject(new KiteTickerError("bad_request", "the ticker was closed before it connected"));
  }

  private send(requests: KiteRequest[]): void {
    if (this._state !== "open" || !this.ws) return; // restored from the registry on (re)connect
    for (const request of requests) this.ws.send(JSON.stringify(request));
  }

  private open(): void {
    const settings = this.settings;
    const url = `${settings.url}?api_key=${encodeURIComponent(settings.apiKey)}&access_token=${encodeURIComponent(settings.accessToken)}`;
    this._state = "connecting";
    this.opened = false;
    this.sawFrame = false;
    this.handshakeError = undefined;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    this.timer = setTimeout(() => {
      this.drop(ws, 1006, "handshake timed out", new KiteTickerError("unavailable", `the Kite ticker did not answer within ${settings.connectTimeoutMs} ms`));
    }, settings.connectTimeoutMs);
    ws.addEventListener("open", () => this.ws === ws && this.onOpen(ws));
    ws.addEventListener("message", (ev) => this.ws === ws && this.onFrame(ev.data));
    // Bun's error event names the HTTP status ("Expected 101 status code: 403"); the close follows.
    ws.addEventListener("error", (ev) => {
      if (this.ws === ws) this.handshakeError = (ev as ErrorEvent).message;
    });
    ws.addEventListener("close", (ev) => this.drop(ws, ev.code, ev.reason));
  }

  private onOpen(ws: WebSocket): void {
    clearTimeout(this.timer);
    this._state = "open";
    this.opened = true;
    this.lastFrameAt = Date.now();
    const every = Math.max(10, Math.min(1_000, Math.floor(this.settings.watchdogMs / 4)));
    this.watchdog = setInterval(() => {
      const quiet = Date.now() - this.lastFrameAt;
      if (quiet >= this.settings.watchdogMs) {
        this.drop(ws, 1006, "watchdog", new KiteTickerError("stale", `no frame from the Kite ticker for ${quiet} ms`));
      }
    }, every);
    for (const request of this.subs.restore()) ws.send(JSON.stringify(request));
    this.settings.log?.info({ instruments: this.subs.size, attempt: this.attempt }, "kite ticker connected");
    this.emit("onConnect");
    this.ready?.resolve();
  }

  private onFrame(data: unknown): void {
    this.lastFrameAt = Date.now();
    // Only a connection that delivers frames counts as healthy; an open-then-drop loop keeps backing off.
    if (!this.sawFrame) {
      this.sawFrame = true;
      this.attempt = 0;
    }
    if (typeof data === "string") return this.onText(data);
    let frame;
    try {
      frame = decodeFrame(new Uint8Array(data as ArrayBuffer));
    } catch (err) {
      return this.emit("onError", new KiteTickerError("bad_message", (err as Error).message, { cause: err, details: (err as KiteTickerError).details }));
    }
    if (frame.kind === "ticks" && frame.ticks.length > 0) this.emit("onTicks", frame.ticks);
  }

  private onText(text: string): void {
    let message: { type?: unknown; data?: unknown };
    try {
      message = JSON.parse(text);
    } catch (err) {
      return this.emit("onError", new KiteTickerError("bad_message", `a text message that is not JSON: ${text.slice(0, 200)}`, { cause: err }));
    }
    const type = typeof message?.type === "string" ? message.type : "";
    if (type === "order" && typeof message.data === "object" && message.data !== null) {
      this.emit("onOrderUpdate", message.data as Record<string, unknown>);
    } else if (type === "error") {
      this.emit("onError", new KiteTickerError("server_error", `Kite ticker error: ${String(message.data)}`, { details: message.data }));
    } else {
      this.emit("onMessage", { type, data: message?.data });
    }
  }

  /** One socket ended (closed, failed, timed out, went silent): report it and decide what next. */
  private drop(ws: WebSocket, code: number, reason: string, error?: KiteTickerError): void {
    if (this.ws !== ws) return; // an old socket, already dealt with
    this.ws = undefined;
    this.clearTimers();
    if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    const wasConnected = this.opened;
    error ??= this.classify(wasConnected, code, reason);
    const settings = this.settings;
    let stop: KiteTickerError | undefined;
    if (!settings.reconnect) stop = error;
    else if (error.reason === "token_rejected" && !settings.retryOnTokenRejected) stop = error;
    else if (this.attempt + 1 > settings.maxReconnectAttempts) {
      stop = new KiteTickerError("gave_up", `gave up reconnecting to the Kite ticker after ${this.attempt} attempts: ${error.message}`, { cause: error });
    }
    if (stop) {
      this._state = "closed";
      this.emit("onDisconnect", { wasConnected, code, reason, error, willReconnect: false, attempt: this.attempt });
      this.emit("onError", stop);
      this.settings.log?.error({ err: stop.message, code: stop.code }, "kite ticker stopped");
      this.ready?.reject(stop);
      return;
    }
    this.attempt += 1;
    const delayMs = backoffDelay(this.attempt, { initialDelayMs: settings.initialDelayMs, maxDelayMs: settings.maxDelayMs, factor: settings.backoffFactor, jitter: settings.jitter });
    this._state = "waiting";
    this.emit("onDisconnect", { wasConnected, code, reason, error, willReconnect: true, delayMs, attempt: this.attempt });
    if (error.reason === "token_rejected") this.emit("onError", error);
    this.settings.log?.warn({ err: error.message, attempt: this.attempt, delay_ms: delayMs }, "kite ticker disconnected; reconnecting");
    this.timer = setTimeout(() => {
      if (this._state === "waiting") this.open();
    }, delayMs);
  }

  private classify(wasConnected: boolean, code: number, reason: string): KiteTickerError {
    if (!wasConnected) {
      const status = /status code:? (\d{3})/i.exec(this.handshakeError ?? "")?.[1];
      if (status === "401" || status === "403") {
        return new KiteTickerError("token_rejected", `the Kite ticker refused the handshake (HTTP ${status}): the access token is invalid or expired, or the api key is wrong`, {
          details: { status: Number(status) },
        });
      }
      const why = redact(this.handshakeError ?? `closed with ${code} ${reason}`.trim());
      return new KiteTickerError("unavailable", `could not connect to the Kite ticker: ${why}`, { details: { status: status ? Number(status) : undefined } });
    }
    return new KiteTickerError("unavailable", `the Kite ticker connection closed (${code}${reason ? ` ${reason}` : ""})`, { details: { code, reason } });
  }

  private clearTimers(): void {
    clearInterval(this.watchdog);
    clearTimeout(this.timer);
    this.watchdog = undefined;
    this.timer = undefined;
  }

  /** Calls a handler; one that throws is reported, never allowed to break the connection. */
  private emit<K extends keyof KiteTickerHandlers>(name: K, ...args: Parameters<NonNullable<KiteTickerHandlers[K]>>): void {
    const fn = this.handlers[name] as ((...a: unknown[]) => void) | undefined;
    if (!fn) return;
    try {
      fn.apply(this.handlers, args);
    } catch (err) {
      if (name === "onError") return void this.settings.log?.error({ err }, "kite ticker onError threw");
      this.emit("onError", new KiteTickerError("handler", `the ${name} handler threw: ${(err as Error).message}`, { cause: err }));
    }
  }
}

/** Bun's messages quote the URL, query and all; the token stays out of logs and errors. */
function redact(message: string): string {
  return message.replace(/access_token=[^&\s'"]*/g, "access_token=***");
}
