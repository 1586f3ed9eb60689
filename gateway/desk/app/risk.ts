/**
 * One broker's risk limits and trading state, with the kill switch: HALTED after a confirmation
 * (the dialog's data-testid="confirm"), and the way back to ACTIVE. The state is not pushed on
 * the socket, so it is read with the pipeline's poll and after every change made here.
 */
import { failureText } from "./api.ts";
import { ask, fill, h } from "./dom.ts";
import { actionState, type DeskContext, type Risk } from "./types.ts";

export class RiskView {
  readonly el: HTMLElement;
  readonly #state = h("span", { class: "badge" });
  readonly #reason = h("span", { class: "muted" });
  readonly #limits = h("dl", { class: "limits" });
  readonly #button: HTMLButtonElement;
  #risk: Risk | undefined;

  constructor(
    private readonly ctx: DeskContext,
    private readonly broker: string,
  ) {
    // Nothing to act on until the state is read (show() enables it for a trade key).
    const act = actionState(ctx, "POST", "/risk/{broker}/state");
    this.#button = h("button", { type: "button", "data-testid": `kill-switch-${broker}`, disabled: true, title: act.title ?? "reading the trading state", onclick: () => void this.toggle() }, "Halt trading");
    this.el = h("section", { class: "card risk" }, h("div", { class: "row-head" }, h("h2", {}, "Risk"), this.#button), h("p", {}, "Trading state: ", this.#state, " ", this.#reason), this.#limits);
  }

  async load(): Promise<void> {
    this.show((await this.ctx.api.get<{ risk: Risk }>(`/risk/${this.broker}/limits`)).risk);
  }

  show(risk: Risk): void {
    this.#risk = risk;
    this.#state.textContent = risk.state;
    this.#state.dataset.testid = `trading-state-${this.broker}`;
    this.#state.className = `badge state-${risk.state.toLowerCase()}`;
    this.#reason.textContent = risk.reason ? `(${risk.reason})` : "";
    fill(this.#limits, ...Object.entries(risk.limits).flatMap(([name, value]) => [h("dt", {}, name.replaceAll("_", " ")), h("dd", {}, String(value))]));
    const halted = risk.state === "HALTED";
    const act = actionState(this.ctx, "POST", "/risk/{broker}/state");
    this.#button.textContent = halted || risk.state === "REDUCING" ? "Resume trading" : "Halt trading (kill switch)";
    this.#button.className = halted ? "primary" : "danger";
    this.#button.dataset.state = risk.state;
    this.#button.disabled = act.disabled;
    this.#button.title = act.title ?? (halted ? "Back to ACTIVE" : "HALTED: risk rejects every new order; square-offs still pass");
  }

  async toggle(): Promise<void> {
    const to = this.#risk?.state === "ACTIVE" ? "HALTED" : "ACTIVE";
    const values = await ask(
      to === "HALTED"
        ? { title: `Halt ${this.broker}`, message: "Risk will reject every new order of this broker until it is set back to ACTIVE.", fields: [{ name: "reason", label: "Reason", value: "kill switch from the desk" }], confirm: "Halt trading", danger: true }
        : { title: `Resume ${this.broker}`, message: "Set the trading state back to ACTIVE?", confirm: "Resume trading" },
    );
    if (!values) return;
    try {
      const body = values.reason ? { state: to, reason: values.reason } : { state: to };
      this.show((await this.ctx.api.post<{ risk: Risk }>(`/risk/${this.broker}/state`, body)).risk);
      this.ctx.notify(`${this.broker} is ${to}`);
    } catch (err) {
      this.ctx.notify(`cannot set ${to}: ${failureText(err)}`, true);
    }
  }
}
