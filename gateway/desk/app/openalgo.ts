/**
 * The followed OpenAlgo instance's orders (GET /sources/openalgo/orders, pushed on
 * `orders.openalgo`): read-only, so one screen follows both systems without a button that could
 * act on an order that is not ours. Shown only when the gateway follows an OpenAlgo source.
 */
import type { Api } from "./api.ts";
import { fill, h } from "./dom.ts";

/** An OpenAlgo order as the API shows it (money as decimal strings; null where its messages did not say). */
export interface OpenAlgoOrder {
  order_id: string;
  symbol: string;
  exchange: string | null;
  side: string;
  quantity: number | null;
  filled_quantity: number | null;
  order_type: string | null;
  price: string | null;
  average_price: string | null;
  status: string;
  openalgo_status: string | null;
  mode: string | null;
  broker: string | null;
  event_ts: string;
  created_at: string;
}

const MAX_ROWS = 200;
const time = (iso: string) => new Date(iso).toLocaleTimeString("en-IN", { hour12: false, timeZone: "Asia/Kolkata" });
const dash = (v: string | number | null) => (v === null || v === "" ? "—" : String(v));

export class OpenAlgoOrders {
  readonly el: HTMLElement;
  readonly #body = h("tbody");
  readonly #orders = new Map<string, OpenAlgoOrder>();

  private constructor(private readonly api: Api) {
    this.el = h(
      "section",
      { class: "card blotter", "data-testid": "openalgo-orders" },
      h("div", { class: "row-head" }, h("h2", {}, "OpenAlgo orders"), h("span", { class: "muted" }, "read-only: followed from an OpenAlgo instance")),
      h("table", {}, h("thead", {}, h("tr", {}, ...["Time (IST)", "Symbol", "Side", "Qty", "Type", "Price", "Avg", "Status", "Mode", "Broker"].map((t) => h("th", {}, t)))), this.#body),
    );
  }

  /** The panel when this gateway follows an OpenAlgo source (its route is in /openapi.json); undefined when it does not. */
  static async open(api: Api, can: (method: string, path: string) => boolean): Promise<OpenAlgoOrders | undefined> {
    if (!can("GET", "/sources/openalgo/orders")) return undefined;
    const panel = new OpenAlgoOrders(api);
    await panel.load();
    return panel;
  }

  async load(): Promise<void> {
    const { orders } = await this.api.get<{ orders: OpenAlgoOrder[] }>(`/sources/openalgo/orders?limit=${MAX_ROWS}`);
    this.#orders.clear();
    for (const o of orders) this.#orders.set(o.order_id, o);
    this.render();
  }

  /** A push on orders.openalgo: the order as it is now. */
  upsert(o: OpenAlgoOrder): void {
    const known = this.#orders.get(o.order_id);
    if (known && known.event_ts > o.event_ts) return;
    this.#orders.set(o.order_id, o);
    this.render();
  }

  private render(): void {
    const newest = [...this.#orders.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1)).slice(0, MAX_ROWS);
    fill(
      this.#body,
      ...newest.map((o) =>
        h(
          "tr",
          { "data-testid": `openalgo-order-${o.order_id}`, "data-status": o.status, class: `status-${o.status.toLowerCase()}` },
          h("td", { title: o.event_ts }, time(o.event_ts)),
          h("td", {}, o.exchange ? `${o.symbol} (${o.exchange})` : o.symbol),
          h("td", { class: o.side === "BUY" ? "up" : "down" }, o.side),
          h("td", { class: "num" }, o.filled_quantity === null ? dash(o.quantity) : `${o.filled_quantity}/${dash(o.quantity)}`),
          h("td", {}, dash(o.order_type)),
          h("td", { class: "num" }, dash(o.price)),
          h("td", { class: "num" }, dash(o.average_price)),
          h("td", { "data-testid": "status", title: o.openalgo_status ?? "" }, h("span", { class: "badge" }, o.status)),
          h("td", {}, dash(o.mode)),
          h("td", {}, dash(o.broker)),
        ),
      ),
    );
  }
}
