/** The strategies: kind, instruments, brokers, parameters; enable/disable and edit the parameters. */
import { failureText } from "./api.ts";
import { ask, fill, h } from "./dom.ts";
import { actionState, symbolOf, type DeskContext, type Strategy } from "./types.ts";

export class StrategiesView {
  readonly el: HTMLElement;
  readonly #body = h("tbody");

  constructor(private readonly ctx: DeskContext) {
    this.el = h("section", { class: "card strategies" }, h("h2", {}, "Strategies"), h("table", {}, h("thead", {}, h("tr", {}, ...["Id", "Kind", "Brokers", "Instruments", "Parameters", "State", ""].map((t) => h("th", {}, t)))), this.#body));
  }

  async load(): Promise<void> {
    const { strategies } = await this.ctx.api.get<{ strategies: Strategy[] }>("/strategies");
    const act = actionState(this.ctx, "PATCH", "/strategies/{id}");
    fill(
      this.#body,
      ...strategies.map((s) =>
        h(
          "tr",
          { "data-testid": `strategy-${s.id}`, class: s.enabled ? "" : "flat" },
          h("td", {}, s.id),
          h("td", {}, s.kind),
          h("td", {}, s.brokers.join(", ")),
          h("td", { class: "muted" }, s.instruments.map((t) => symbolOf(this.ctx, t)).join(", ")),
          h("td", { class: "mono" }, Object.entries(s.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ")),
          h("td", {}, h("span", { class: `badge ${s.enabled ? "state-active" : ""}` }, s.enabled ? "enabled" : "disabled")),
          h(
            "td",
            { class: "actions" },
            h("button", { type: "button", "data-testid": "toggle", disabled: act.disabled, title: act.title, onclick: () => void this.change(s.id, { enabled: !s.enabled }).then((e) => e && this.ctx.notify(`cannot change ${s.id}: ${e}`, true)) }, s.enabled ? "Disable" : "Enable"),
            h("button", { type: "button", "data-testid": "params", disabled: act.disabled, title: act.title, onclick: () => void this.editParams(s) }, "Parameters"),
          ),
        ),
      ),
    );
  }

  private async change(id: string, patch: Record<string, unknown>): Promise<string | undefined> {
    try {
      await this.ctx.api.patch(`/strategies/${id}`, patch);
      this.ctx.notify(`strategy ${id} changed`);
      await this.load();
      return undefined;
    } catch (err) {
      return failureText(err);
    }
  }

  private async editParams(s: Strategy): Promise<void> {
    await ask({
      title: `Parameters of ${s.id}`,
      message: `${s.kind}: each value as JSON (a number, true/false, or "text").`,
      fields: Object.entries(s.params).map(([k, v]) => ({ name: k, label: k, value: JSON.stringify(v) })),
      confirm: "Save",
      submit: async (values) => {
        const params: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(values)) {
          try {
            params[k] = JSON.parse(v);
          } catch {
            return `${k}: not JSON`;
          }
        }
        return this.change(s.id, { params });
      },
    });
  }
}
