/**
 * One broker's order blotter, newest first: read over REST, then kept live from the orders
 * channel (each push names an order, which is read again, so the row shows exactly what
 * GET /orders/:id says). Open orders have cancel and modify; the head has cancel-all.
 */
import { ORDER_TYPES, OPEN_STATUSES } from "../../../src/orders/vocabulary.ts";
import { failureText } from "./api.ts";
import { ask, fill, h } from "./dom.ts";
import { rupees } from "./money.ts";
import { actionState, symbolOf, type DeskContext, type Order } from "./types.ts";

/** Rows kept on the page; older ones are behind GET /orders' cursor. */
const MAX_ROWS = 200;
const OPEN = new Set<string>(OPEN_STATUSES);
/** Reads of an order that does not yet hold a pushed event, 100 ms apart and growing: about 4.5 s in all. */
const RETRIES = 9;
const READ_AFTER_MS = 150;

export const isOpen = (o: Order): boolean => OPEN.has(o.status);

const time = (iso: string) => new Date(iso).toLocaleTimeString("en-IN", { hour12: false, timeZone: "Asia/Kolkata" });

export class Blotter {
  readonly el: HTMLElement;
  readonly #body = h("tbody");
  readonly #orders = new Map<string, Order>();
  readonly #rows = new Map<string, HTMLTableRowElement>();
  /** Orders named by a push, read together at the next turn (a fill's events come in a burst). */
  readonly #stale = new Set<string>();
  /** Per order, the pushed events its next read must hold, and how often it was read for them. */
  readonly #awaited = new Map<string, { events: Set<string>; attempt: number }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reading = false;

  constructor(
    private readonly ctx: DeskContext,
    private readonly broker: string,
  ) {
    const all = actionState(ctx, "DELETE", "/orders");
    this.el = h(
      "section",
      { class: "card blotter" },
      h(
        "div",
        { class: "row-head" },
        h("h2", {}, "Orders"),
        h("button", { type: "button", class: "danger", "data-testid": `cancel-all-${broker}`, disabled: all.disabled, title: all.title ?? "Cancel every open order of this broker", onclick: () => void this.cancelAll() }, "Cancel all open"),
      ),
      h("table", {}, h("thead", {}, h("tr", {}, ...["Time (IST)", "Strategy", "Instrument", "Side", "Qty", "Type", "Price", "Avg", "Status", "Reason", ""].map((t) => h("th", {}, t)))), this.#body),
    );
  }

  /** Replaces the blotter with a fresh read. */
  async load(): Promise<void> {
    const { orders } = await this.ctx.api.get<{ orders: Order[] }>(`/orders?broker=${this.broker}&limit=${MAX_ROWS}`);
    this.#orders.clear();
    this.#rows.clear();
    fill(this.#body);
    for (const o of orders.reverse()) this.upsert(o);
  }

  /**
   * An order event pushed on orders.<broker>: its order is read again, until the read holds the
   * event (the orders view is a consumer of its own and may be a moment behind the push).
   */
  touched(orderId: string, eventId?: string): void {
    const wait = this.#awaited.get(orderId) ?? { events: new Set<string>(), attempt: 0 };
    if (eventId) wait.events.add(eventId);
    this.#awaited.set(orderId, wait);
    this.#stale.add(orderId);
    // A moment's pause: a fill's events come in a burst, and the orders view is then up to date.
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (!this.#reading) void this.readStale();
    }, READ_AFTER_MS);
  }

  private async readStale(): Promise<void> {
    this.#reading = true;
    try {
      while (this.#stale.size > 0) {
        const ids = [...this.#stale];
        this.#stale.clear();
        // An order new to the desk is looked for in the newest page, which never answers 404
        // (the orders view may not hold it yet); one already shown is read by its id.
        if (ids.some((id) => !this.#orders.has(id))) await this.readNewest();
        await Promise.all(ids.map((id) => (this.#orders.has(id) ? this.readOne(id) : this.again(id))));
      }
    } finally {
      this.#reading = false;
    }
  }

  private async readNewest(): Promise<void> {
    const page = await this.ctx.api.get<{ orders: Order[] }>(`/orders?broker=${this.broker}&limit=50`).catch(() => undefined);
    for (const o of page?.orders.reverse() ?? []) this.upsert(o);
  }

  private async readOne(id: string): Promise<void> {
    const order = await this.ctx.api.get<{ order: Order & { events?: Array<{ id: string }> } }>(`/orders/${id}`).then((r) => r.order, () => undefined);
    const wait = this.#awaited.get(id);
    if (order) this.upsert(order);
    const seen = new Set(order?.events?.map((e) => e.id) ?? []);
    if (!wait || (order && [...wait.events].every((e) => seen.has(e)))) return void this.#awaited.delete(id);
    this.again(id);
  }

  /** Not there yet: again soon, a few times (then the next push or reconnect brings it). */
  private again(id: string): void {
    const wait = this.#awaited.get(id) ?? { events: new Set<string>(), attempt: 0 };
    this.#awaited.set(id, wait);
    if (++wait.attempt > RETRIES) return void this.#awaited.delete(id);
    setTimeout(() => this.touched(id), 100 * wait.attempt);
  }

  upsert(o: Order): void {
    const known = this.#orders.get(o.order_id);
    if (known && known.updated_at > o.updated_at) return; // an older read than the one shown
    this.#orders.set(o.order_id, o);
    const row = this.row(o);
    const old = this.#rows.get(o.order_id);
    this.#rows.set(o.order_id, row);
    if (old) return old.replaceWith(row);
    // Newest first: before the first row created earlier than this one.
    const after = [...this.#orders.values()].filter((x) => x.order_id !== o.order_id && x.created_at <= o.created_at).sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
    const before = after && this.#rows.get(after.order_id);
    if (before) before.before(row);
    else this.#body.append(row);
    if (this.#orders.size > MAX_ROWS) this.dropOldest();
  }

  private dropOldest(): void {
    const oldest = [...this.#orders.values()].sort((a, b) => (a.created_at < b.created_at ? -1 : 1))[0]!;
    this.#orders.delete(oldest.order_id);
    this.#rows.get(oldest.order_id)?.remove();
    this.#rows.delete(oldest.order_id);
  }

  private row(o: Order): HTMLTableRowElement {
    const open = isOpen(o);
    const cancel = actionState(this.ctx, "DELETE", "/orders/{id}");
    const modify = actionState(this.ctx, "PATCH", "/orders/{id}");
    const price = o.order_type === "SL" || o.order_type === "SL-M" ? `${rupees(o.price)} / trg ${rupees(o.trigger_price)}` : rupees(o.price);
    return h(
      "tr",
      { "data-testid": `order-${o.order_id}`, "data-status": o.status, class: `status-${o.status.toLowerCase()}` },
      h("td", { title: o.created_at }, time(o.created_at)),
      h("td", {}, o.strategy_id),
      h("td", {}, symbolOf(this.ctx, o.instrument_token)),
      h("td", { class: o.side === "BUY" ? "up" : "down" }, o.side),
      h("td", { class: "num", "data-testid": "quantity" }, `${o.filled_quantity}/${o.quantity}`),
      h("td", {}, o.order_type),
      h("td", { class: "num", "data-testid": "price" }, price),
      h("td", { class: "num" }, rupees(o.average_price)),
      h("td", { "data-testid": "status" }, h("span", { class: "badge" }, o.status)),
      h("td", { class: "muted", title: o.message ?? "" }, o.reason_code ?? ""),
      h(
        "td",
        { class: "actions" },
        open && h("button", { type: "button", "data-testid": "modify", disabled: modify.disabled, title: modify.title ?? "Change quantity, price, trigger or type", onclick: () => void this.modify(o) }, "Modify"),
        open && h("button", { type: "button", "data-testid": "cancel", disabled: cancel.disabled, title: cancel.title ?? "Cancel this order", onclick: () => void this.cancel(o) }, "Cancel"),
      ),
    );
  }

  async cancel(o: Order): Promise<void> {
    try {
      await this.ctx.api.del(`/orders/${o.order_id}`);
      this.ctx.notify(`cancel sent for ${o.order_id}`);
    } catch (err) {
      this.ctx.notify(`cancel failed: ${failureText(err)}`, true);
    }
    this.touched(o.order_id);
  }

  async modify(o: Order): Promise<void> {
    const before: Record<string, string> = { quantity: String(o.quantity), price: o.price ?? "", trigger_price: o.trigger_price ?? "", order_type: o.order_type };
    await ask({
      title: `Modify ${o.side} ${symbolOf(this.ctx, o.instrument_token)}`,
      message: `Order ${o.order_id} (${o.status}, ${o.filled_quantity} of ${o.quantity} filled). Only the fields you change are sent.`,
      fields: [
        { name: "quantity", label: "Quantity", value: before.quantity, type: "number" },
        { name: "price", label: "Price (₹)", value: before.price, hint: "LIMIT and SL" },
        { name: "trigger_price", label: "Trigger price (₹)", value: before.trigger_price, hint: "SL and SL-M" },
        { name: "order_type", label: "Type", value: before.order_type, options: ORDER_TYPES },
      ],
      confirm: "Modify",
      submit: async (v) => {
        const change: Record<string, string | number> = {};
        for (const [name, value] of Object.entries(v)) if (value !== before[name] && value !== "") change[name] = name === "quantity" ? Number(value) : value;
        if (Object.keys(change).length === 0) return "nothing changed";
        try {
          const res = await this.ctx.api.patch<{ order: Order }>(`/orders/${o.order_id}`, change);
          if (res.order) this.upsert(res.order);
          this.ctx.notify(`modify sent for ${o.order_id}`);
          this.touched(o.order_id);
          return undefined;
        } catch (err) {
          return failureText(err);
        }
      },
    });
  }

  async cancelAll(): Promise<void> {
    const open = [...this.#orders.values()].filter(isOpen).length;
    const ok = await ask({ title: "Cancel all", message: `Cancel every open order of ${this.broker} (${open} shown here)?`, confirm: "Cancel all", danger: true });
    if (!ok) return;
    try {
      const res = await this.ctx.api.del<{ cancelled: string[] }>(`/orders?broker=${this.broker}`);
      this.ctx.notify(`cancel sent for ${res.cancelled.length} order(s)`);
      for (const id of res.cancelled) this.touched(id);
    } catch (err) {
      this.ctx.notify(`cancel all failed: ${failureText(err)}`, true);
    }
  }
}
