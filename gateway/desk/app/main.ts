/**
 * The desk's entry: sign-in (a key kept in sessionStorage; `/#key=<key>` signs in and leaves the
 * address bar), then one panel per active broker kept live over the WebSocket, the strategies,
 * and the pipeline's health read every 2 s.
 */
import { Api, ApiFailure, capabilities, failureText } from "./api.ts";
import { Blotter } from "./blotter.ts";
import { OpenAlgoOrders, type OpenAlgoOrder } from "./openalgo.ts";
import { byId, fill, h } from "./dom.ts";
import { PipelineView } from "./pipeline.ts";
import { PortfolioView } from "./portfolio.ts";
import { RiskView } from "./risk.ts";
import { connectLive, type Push } from "./socket.ts";
import { StrategiesView } from "./strategies.ts";
import { TradesView } from "./trades.ts";
import type { DeskContext, Instrument, Portfolio } from "./types.ts";

const KEY_ITEM = "alpha-panda.api-key";
const POLL_MS = 2_000;

/** The key from `#key=…`, which is then taken out of the address bar (and the history). */
function keyFromFragment(): string | undefined {
  const m = /^#key=([^&]+)/.exec(location.hash);
  if (!m) return undefined;
  history.replaceState(null, "", location.pathname + location.search);
  return decodeURIComponent(m[1]!);
}

function showSignIn(error = ""): void {
  byId("desk").hidden = true;
  byId("sign-out").hidden = true;
  const form = byId<HTMLFormElement>("sign-in");
  form.hidden = false;
  byId("sign-in-error").textContent = error;
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const key = byId<HTMLInputElement>("key").value.trim();
    void signIn(key);
  };
}

async function signIn(key: string): Promise<void> {
  const api = new Api(key);
  let scopes: string[];
  try {
    scopes = (await api.get<{ scopes: string[] }>("/whoami")).scopes;
  } catch (err) {
    sessionStorage.removeItem(KEY_ITEM);
    return showSignIn(err instanceof ApiFailure && err.status === 401 ? "This key is unknown or revoked." : `Cannot sign in: ${failureText(err)}`);
  }
  sessionStorage.setItem(KEY_ITEM, key);
  byId("sign-in").hidden = true;
  await boot(api, scopes.includes("trade")).catch((err: unknown) => {
    byId("who").textContent = `cannot show the desk: ${failureText(err)}`;
  });
}

/** Calls `f` at most once per `ms`, after the last call (a burst of fills → one read). */
function debounce(f: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(f, ms);
  };
}

/** The first read, again every second while the gateway answers 503 (e.g. its portfolio is being rebuilt at start). */
async function firstRead(api: Api) {
  for (;;) {
    try {
      return await Promise.all([
        capabilities(),
        api.get<{ instruments: Instrument[] }>("/instruments").then((r) => new Map(r.instruments.map((i) => [i.instrument_token, i]))),
        api.get<{ portfolios: Portfolio[] }>("/portfolios"),
      ]);
    } catch (err) {
      if (!(err instanceof ApiFailure) || (err.status !== 503 && err.status !== 0)) throw err;
      byId("who").textContent = `waiting for the gateway: ${err.message}`;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

async function boot(api: Api, canTrade: boolean): Promise<void> {
  const [can, instruments, { portfolios }] = await firstRead(api);
  const status = h("p", { class: "status", role: "status", "data-testid": "status" });
  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  const ctx: DeskContext = {
    api,
    canTrade,
    can,
    instrument: (t) => instruments.get(t),
    notify: (text, error) => {
      status.textContent = text;
      status.className = error ? "status error" : "status";
      clearTimeout(statusTimer);
      statusTimer = setTimeout(() => (status.textContent = ""), error ? 15_000 : 6_000);
    },
  };
  byId("who").textContent = canTrade ? "trade key" : "read-only key: actions need a trade key";
  const signOut = byId<HTMLButtonElement>("sign-out");
  signOut.hidden = false;
  signOut.onclick = () => {
    sessionStorage.removeItem(KEY_ITEM);
    location.reload();
  };

  const panels = portfolios.map((p) => {
    const broker = p.broker;
    const refresh = debounce(() => {
      void api.get<{ portfolio: Portfolio }>(`/portfolios/${broker}`).then((r) => portfolio.show(r.portfolio), (err) => ctx.notify(`portfolio ${broker}: ${failureText(err)}`, true));
      void trades.load().catch(() => {});
    }, 150);
    const portfolio = new PortfolioView(ctx, broker, refresh);
    const risk = new RiskView(ctx, broker);
    const blotter = new Blotter(ctx, broker);
    const trades = new TradesView(ctx, broker);
    portfolio.show(p);
    return { broker, portfolio, risk, blotter, trades, refresh };
  });
  const strategies = new StrategiesView(ctx);
  const pipeline = new PipelineView(ctx);
  // Only where the gateway follows an OpenAlgo instance (OPENALGO_SOURCE_TOPIC): a read-only blotter.
  const openAlgo = await OpenAlgoOrders.open(api, can).catch((err: unknown) => void ctx.notify(`OpenAlgo orders: ${failureText(err)}`, true));

  fill(
    byId("desk"),
    ...panels.map((b) => h("div", { class: "broker", "data-broker": b.broker }, h("h2", { class: "broker-name" }, `Broker: ${b.broker}`), h("div", { class: "grid" }, b.portfolio.el, b.risk.el), b.blotter.el, b.trades.el)),
    ...(openAlgo ? [openAlgo.el] : []),
    pipeline.el,
    strategies.el,
    status,
  );
  byId("desk").hidden = false;

  const loadAll = () =>
    Promise.all([
      ...panels.flatMap((b) => [b.blotter.load(), b.trades.load(), b.risk.load()]),
      strategies.load(),
      pipeline.load(),
      openAlgo?.load(),
    ]).catch((err: unknown) => ctx.notify(`cannot read the desk: ${failureText(err)}`, true));

  const byBroker = new Map(panels.map((b) => [b.broker, b]));
  const onPush = (push: Push) => {
    if (push.channel === "orders.openalgo") return openAlgo?.upsert(push.data as unknown as OpenAlgoOrder);
    const [kind, broker] = push.channel.split(".");
    const panel = byBroker.get(broker ?? "");
    if (!panel) return;
    if (kind === "orders") {
      if (typeof push.data.order_id === "string") panel.blotter.touched(push.data.order_id, push.id);
      if (push.type === "order.filled") panel.refresh();
    } else if (kind === "signals" && (push.type === "signal.validated" || push.type === "signal.rejected")) {
      // A signal's id is its order's id: risk's verdict is the order's first line (or its last).
      if (typeof push.data.signal_id === "string") panel.blotter.touched(push.data.signal_id, push.id);
    } else if (kind === "portfolio" && push.type === "pnl.snapshot") {
      panel.portfolio.snapshot(push.ts, push.data);
      panel.refresh();
    }
  };
  const conn = byId("conn");
  connectLive({
    key: api.key,
    channels: [...panels.flatMap((b) => [`orders.${b.broker}`, `portfolio.${b.broker}`, `signals.${b.broker}`]), ...(openAlgo ? ["orders.openalgo"] : [])],
    onPush,
    // After every (re)connect: what was missed while offline is read over REST.
    onOpen: () => {
      void loadAll();
      for (const b of panels) b.refresh();
    },
    onState: (state, detail) => {
      conn.textContent = state;
      conn.className = `badge conn-${state}`;
      conn.title = detail ?? "";
    },
  });
  await loadAll();
  // Not pushed on the socket: the pipeline's numbers and the trading state.
  setInterval(() => {
    void pipeline.load().catch(() => {});
    for (const b of panels) void b.risk.load().catch(() => {});
  }, POLL_MS);
}

const fromFragment = keyFromFragment();
const kept = fromFragment ?? sessionStorage.getItem(KEY_ITEM);
if (kept) void signIn(kept);
else showSignIn();
