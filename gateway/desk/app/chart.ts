/**
 * The intraday P&L chart (uPlot): realised + unrealised P&L over the day, one point per
 * pnl.snapshot push and per portfolio read. There is no history endpoint, so it starts with the
 * session; the points of the current IST day are kept (a long-running desk starts afresh at
 * midnight IST).
 */
import uPlot from "uplot";
import { rupees, rupeesForChart } from "./money.ts";

const IST_MS = 5.5 * 3600_000;
const istDay = (ms: number) => Math.floor((ms + IST_MS) / 86_400_000);
/** "14:05:30": India time on a 24-hour clock, as the blotter shows it. */
const istClock = (seconds: number) => new Date(seconds * 1000 + IST_MS).toISOString().slice(11, 19);
/** Enough for a trading day of 5 s snapshots. */
const MAX_POINTS = 10_000;

export class PnlChart {
  readonly #xs: number[] = [];
  readonly #ys: number[] = [];
  #plot: uPlot | undefined;
  #pending = false;

  constructor(private readonly box: HTMLElement) {}

  /** A point at `ms` (epoch) of `pnl` (a decimal string in rupees). */
  add(ms: number, pnl: string): void {
    if (!Number.isFinite(ms)) return;
    const last = this.#xs.at(-1);
    if (last !== undefined && istDay(last * 1000) !== istDay(ms)) this.#xs.length = this.#ys.length = 0;
    const x = ms / 1000;
    if (last !== undefined && x < last) return; // an older reading than the one drawn
    if (last === x) this.#ys[this.#ys.length - 1] = rupeesForChart(pnl);
    else {
      this.#xs.push(x);
      this.#ys.push(rupeesForChart(pnl));
    }
    if (this.#xs.length > MAX_POINTS) {
      this.#xs.shift();
      this.#ys.shift();
    }
    this.box.dataset.points = String(this.#xs.length);
    // At most one redraw a frame, however many pushes arrive.
    if (!this.#pending) {
      this.#pending = true;
      requestAnimationFrame(() => this.draw());
    }
  }

  private draw(): void {
    this.#pending = false;
    const data: uPlot.AlignedData = [this.#xs, this.#ys];
    if (this.#plot) return this.#plot.setData(data);
    const width = Math.max(300, this.box.clientWidth || 600);
    this.#plot = new uPlot(
      {
        width,
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        series: [{}, { label: "P&L", stroke: "#10b981", width: 2, fill: "rgba(16,185,129,0.08)", value: (_u, v) => (v === null ? "—" : rupees(v.toFixed(2))) }],
        axes: [{ stroke: "#9ca3af", grid: { stroke: "rgba(127,127,127,0.15)" }, values: (_u, ticks) => ticks.map(istClock) }, { stroke: "#9ca3af", size: 80, grid: { stroke: "rgba(127,127,127,0.15)" }, values: (_u, ticks) => ticks.map((t) => rupees(t.toFixed(2))) }],
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Asia/Kolkata"),
      },
      data,
      this.box,
    );
    new ResizeObserver(() => this.#plot?.setSize({ width: Math.max(300, this.box.clientWidth), height: 180 })).observe(this.box);
  }
}
