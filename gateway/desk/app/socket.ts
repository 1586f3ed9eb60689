/**
 * The live connection: /ws with the key in the query (browsers cannot set headers on a
 * WebSocket), subscribed to each broker's orders and portfolio channels. It reconnects with a
 * growing pause; after every (re)connect `onOpen` runs so the views catch up over REST on what
 * they may have missed.
 */

export interface Push {
  channel: string;
  id: string;
  type: string;
  ts: string;
  data: Record<string, unknown>;
}

export interface LiveOptions {
  key: string;
  channels: string[];
  onPush(push: Push): void;
  onOpen(): void;
  onState(state: "live" | "connecting" | "offline", detail?: string): void;
}

/**
 * @example
 * const live = connectLive({ key, channels: ["orders.paper"], onPush, onOpen: refetch, onState });
 * live.close();
 */
export function connectLive(opts: LiveOptions): { close(): void } {
  let socket: WebSocket | undefined;
  let pause = 500;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const open = () => {
    opts.onState("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws?api_key=${encodeURIComponent(opts.key)}`);
    socket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ action: "subscribe", channels: opts.channels }));
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as Record<string, unknown>;
      if (msg.type === "subscribed") {
        pause = 500;
        opts.onState("live");
        opts.onOpen();
      } else if (msg.type === "error") {
        opts.onState("offline", String(msg.message));
      } else if (typeof msg.channel === "string") {
        opts.onPush(msg as unknown as Push);
      }
    };
    ws.onclose = (ev) => {
      if (closed) return;
      opts.onState("offline", ev.reason || `closed (${ev.code}); reconnecting`);
      timer = setTimeout(open, pause);
      pause = Math.min(pause * 2, 10_000);
    };
  };
  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      socket?.close(1000);
    },
  };
}
