/**
 * One broker's money and positions: cash, realised and unrealised P&L and fees, the intraday P&L
 * chart, and the positions table with a square-off per row and for all. Positions are kept per
 * strategy and instrument by the portfolio; the desk shows one row per instrument (its test id is
 * position-<broker>-<instrument_token>), the strategies' holdings summed, and a square-off of the
 * row flattens every strategy's holding of it.
 */
import { failureText } from "./api.ts";
import { PnlChart } from "./chart.ts";
import { ask, fill, h } from "./dom.ts";
import { rupees, sumRupees, trend } from "./money.ts";
import { byInstrument } from "./positions.ts";
import { actionState, symbolOf, type DeskContext, type Portfolio } from "./types.ts";

export class PortfolioView {
  readonly el: HTMLElement;
  readonly #summary = h("dl", { class: "summary" });
  readonly #positions = h("tbody");
  readonly #closeAll: HTMLButtonElement;
  readonly chart: PnlChart;

  constructor(
    private readonly ctx: DeskContext,
    private readonly broker: string,
    private readonly refresh: () => void,
  ) {
    const chartBox = h("div", { class: "chart", "data-testid": "pnl-chart" });
    this.chart = new PnlChart(chartBox);
    const state = actionState(ctx, "POST", "/portfolios/{broker}/close");
    this.#closeAll = h("button", { type: "button", class: "danger", "data-testid": `square-off-all-${broker}`, disabled: state.disabled, title: state.title ?? "Flatten every position of this broker with MARKET orders", onclick: () => void this.squareOff() }, "Square off all");
    this.el = h(
      "section",
      { class: "card portfolio" },
      h("h2", {}, "Portfolio"),
      this.#summary,
      h("h3", {}, "Intraday P&L"),
      chartBox,
      h("div", { class: "row-head" }, h("h3", {}, "Positions"), this.#closeAll),
      h("table", {}, h("thead", {}, h("tr", {}, ...["Instrument", "Strategies", "Net qty", "Avg price", "Last price", "P&L", ""].map((t) => h("th", {}, t)))), this.#positions),
    );
  }

  show(p: Portfolio): void {
    const item = (label: string, id: string | null, value: string, cls = "") => [h("dt", {}, label), h("dd", { class: cls, "data-testid": id ?? undefined, "data-value": value }, rupees(value))];
    const total = sumRupees(p.realised_pnl, p.unrealised_pnl);
    fill(
      this.#summary,
      ...item("Cash", `cash-${this.broker}`, p.cash),
      ...item("Realised P&L", `realised-pnl-${this.broker}`, p.realised_pnl, trend(p.realised_pnl)),
      ...item("Unrealised P&L", `unrealised-pnl-${this.broker}`, p.unrealised_pnl, trend(p.unrealised_pnl)),
      ...item("Fees", `fees-${this.broker}`, p.fees),
      ...item("Total P&L", `total-pnl-${this.broker}`, total, trend(total)),
    );
    const rows = byInstrument(p.positions);
    const state = actionState(this.ctx, "POST", "/portfolios/{broker}/close");
    fill(
      this.#positions,
      ...rows.map((r) =>
        h(
          "tr",
          { "data-testid": `position-${this.broker}-${r.token}`, "data-quantity": r.quantity, class: r.quantity === 0 ? "flat" : "" },
          h("td", {}, symbolOf(this.ctx, r.token)),
          h("td", { class: "muted" }, r.holders.map((x) => `${x.strategy_id} ${x.quantity}`).join(", ")),
          h("td", { class: "num", "data-testid": "net-quantity" }, r.quantity),
          h("td", { class: "num" }, r.quantity === 0 ? "—" : rupees(r.average)),
          h("td", { class: "num" }, rupees(r.last)),
          h("td", { class: `num ${trend(r.pnl)}` }, rupees(r.pnl)),
          h(
            "td",
            {},
            h("button", { type: "button", "data-testid": "square-off", disabled: state.disabled || r.quantity === 0, title: state.title ?? (r.quantity === 0 ? "flat" : "Flatten this instrument (every strategy) with a MARKET order"), onclick: () => void this.squareOff(r.token) }, "Square off"),
          ),
        ),
      ),
    );
    if (rows.length === 0) fill(this.#positions, h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No positions")));
    this.chart.add(Date.parse(p.updated_at ?? "") || Date.now(), total);
  }

  /** A pnl.snapshot push: a point on the chart (the table is refreshed on fills). */
  snapshot(ts: string, data: Record<string, unknown>): void {
    this.chart.add(Date.parse(ts), sumRupees(String(data.realised_pnl ?? "0.00"), String(data.unrealised_pnl ?? "0.00")));
  }

  async squareOff(token?: number): Promise<void> {
    const what = token === undefined ? `every open position of ${this.broker}` : `${symbolOf(this.ctx, token)} on ${this.broker}`;
    const ok = await ask({ title: "Square off", message: `Send MARKET orders that flatten ${what}?`, confirm: "Square off", danger: true });
    if (!ok) return;
    try {
      const res = await this.ctx.api.post<{ orders: unknown[] }>(`/portfolios/${this.broker}/close`, token === undefined ? {} : { instrument_token: token });
      this.ctx.notify(`square-off: ${res.orders.length} order(s) sent`);
    } catch (err) {
      this.ctx.notify(`square-off failed: ${failureText(err)}`, true);
    }
    this.refresh();
  }
}
