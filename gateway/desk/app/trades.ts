/** One broker's fills, newest first (GET /trades), read again after a fill push. */
import { fill, h } from "./dom.ts";
import { rupees } from "./money.ts";
import { symbolOf, type DeskContext, type Trade } from "./types.ts";

export class TradesView {
  readonly el: HTMLElement;
  readonly #body = h("tbody");

  constructor(
    private readonly ctx: DeskContext,
    private readonly broker: string,
  ) {
    this.el = h(
      "section",
      { class: "card trades" },
      h("h2", {}, "Trades"),
      h("table", {}, h("thead", {}, h("tr", {}, ...["Time (IST)", "Strategy", "Instrument", "Side", "Qty", "Price", "Fees"].map((t) => h("th", {}, t)))), this.#body),
    );
  }

  async load(): Promise<void> {
    const { trades } = await this.ctx.api.get<{ trades: Trade[] }>(`/trades?broker=${this.broker}&limit=50`);
    fill(
      this.#body,
      ...trades.map((t) =>
        h(
          "tr",
          { "data-testid": `trade-${t.fill_id}` },
          h("td", { title: t.ts }, new Date(t.ts).toLocaleTimeString("en-IN", { hour12: false, timeZone: "Asia/Kolkata" })),
          h("td", {}, t.strategy_id),
          h("td", {}, symbolOf(this.ctx, t.instrument_token)),
          h("td", { class: t.side === "BUY" ? "up" : "down" }, t.side),
          h("td", { class: "num" }, t.quantity),
          h("td", { class: "num" }, rupees(t.price)),
          h("td", { class: "num" }, rupees(t.fees)),
        ),
      ),
    );
    if (trades.length === 0) fill(this.#body, h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No trades yet")));
  }
}
