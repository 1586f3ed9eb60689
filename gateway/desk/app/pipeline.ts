/** The pipeline's health, read every 2 s from GET /api/v1/pipeline (these numbers are not pushed). */
import { fill, h } from "./dom.ts";
import type { PipelineHealth } from "./health.ts";
import type { DeskContext } from "./types.ts";

const num = (n: number | null | undefined, digits = 0) => (n === null || n === undefined ? "—" : n.toLocaleString("en-IN", { maximumFractionDigits: digits }));

export class PipelineView {
  readonly el: HTMLElement;
  readonly #body = h("tbody");
  readonly #latency = h("p", { "data-testid": "tick-to-fill" });
  readonly #dlq = h("p", { class: "muted" });
  readonly #source = h("small", { class: "muted" });

  constructor(private readonly ctx: DeskContext) {
    this.el = h(
      "section",
      { class: "card pipeline" },
      h("div", { class: "row-head" }, h("h2", {}, "Pipeline"), this.#source),
      h("table", {}, h("thead", {}, h("tr", {}, ...["Stage", "Running", "Restarts", "Partitions", "Handled", "Produced", "Rate /s", "Lag", "Dead letters"].map((t) => h("th", {}, t)))), this.#body),
      this.#latency,
      this.#dlq,
    );
  }

  async load(): Promise<void> {
    const health = await this.ctx.api.get<PipelineHealth>("/pipeline");
    this.#source.textContent = "GET /api/v1/pipeline, every 2 s";
    fill(
      this.#body,
      ...health.stages.map((s) =>
        h(
          "tr",
          { "data-testid": `stage-${s.name}`, class: s.running ? "" : "down" },
          h("td", {}, s.name),
          h("td", {}, h("span", { class: `badge ${s.running ? "state-active" : "state-halted"}` }, s.running ? "running" : "down")),
          h("td", { class: "num" }, num(s.restarts)),
          h("td", { class: "num" }, num(s.partitions)),
          h("td", { class: "num" }, num(s.handled)),
          h("td", { class: "num" }, num(s.produced)),
          h("td", { class: "num", "data-testid": "rate" }, num(s.rate_per_s, 1)),
          h("td", { class: "num", "data-testid": "lag" }, num(s.lag)),
          h("td", { class: `num ${s.dead_letters > 0 ? "down" : ""}`, "data-testid": "dead-letters" }, num(s.dead_letters)),
        ),
      ),
    );
    const l = health.tick_to_fill_ms;
    this.#latency.textContent = l ? `Tick → fill: p50 ${num(l.p50, 2)} ms, p99 ${num(l.p99, 2)} ms (${num(l.count)} fills)` : "Tick → fill: no fills measured yet";
    this.#dlq.textContent = health.dlq.length === 0 ? "" : `Dead-letter queues: ${health.dlq.map((d) => `${d.topic} ${num(d.depth)}`).join(", ")}`;
  }
}
