/**
 * report.html: the equity curve with the fills marked (buys ▲, sells ▼) and the drawdown below
 * it, drawn by uPlot (npm `uplot`, MIT), which is inlined with the data: one file that opens
 * offline and loads nothing from anywhere.
 */
import { readFileSync } from "node:fs";
import type { ChartPoint } from "./results.ts";

const UPLOT = new URL("../../node_modules/uplot/dist/", import.meta.url).pathname;

/** uPlot's script and stylesheet; its banner's link is kept as text, not as a URL to fetch. */
function uplot(): { js: string; css: string } {
  const js = readFileSync(`${UPLOT}uPlot.iife.min.js`, "utf8").replace("https://github.com/leeoniya/uPlot", "github.com/leeoniya/uPlot");
  return { js, css: readFileSync(`${UPLOT}uPlot.min.css`, "utf8") };
}

/** JSON safe inside a <script> element. */
const inScript = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");
const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/**
 * @example
 * await Bun.write("out/report.html", reportHtml("today.jsonl", report, results.chart));
 */
export function reportHtml(title: string, report: Record<string, unknown>, points: readonly ChartPoint[]): string {
  const { js, css } = uplot();
  // Paise in the data (exact); the page divides by 100 only to draw.
  const data = {
    t: points.map((p) => p.at / 1000),
    equity: points.map((p) => p.equity),
    drawdown: points.map((p) => p.drawdown),
    buys: points.map((p) => (p.side === "BUY" ? p.equity : null)),
    sells: points.map((p) => (p.side === "SELL" ? p.equity : null)),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest: ${escapeHtml(title)}</title>
<style>${css}</style>
<style>body{font:14px system-ui,sans-serif;margin:16px;color:#222}table{border-collapse:collapse;margin:8px 0 16px}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}th:first-child,td:first-child{text-align:left}</style>
</head><body>
<h1>Backtest: ${escapeHtml(title)}</h1>
<table id="summary"></table>
<div id="equity"></div>
<div id="drawdown"></div>
<script>${js}</script>
<script id="report" type="application/json">${inScript(report)}</script>
<script id="data" type="application/json">${inScript(data)}</script>
<script>
const report = JSON.parse(document.getElementById("report").textContent);
const d = JSON.parse(document.getElementById("data").textContent);
const rows = [["", "total", ...Object.keys(report.strategies)]];
const pick = ["ticks", "signals", "orders", "fills", "realised_pnl", "unrealised_pnl", "fees", "net_pnl", "turnover", "win_rate", "max_drawdown", "sharpe"];
for (const k of pick) rows.push([k, report.total[k], ...Object.values(report.strategies).map((s) => s[k])]);
document.getElementById("summary").innerHTML = rows.map((r, i) => "<tr>" + r.map((c) => (i === 0 ? "<th>" : "<td>") + String(c ?? "—").replace(/[&<>]/g, "") + (i === 0 ? "</th>" : "</td>")).join("") + "</tr>").join("");
const rupees = (a) => a.map((v) => (v === null ? null : v / 100));
const width = Math.max(600, window.innerWidth - 40);
// Room for Indian-grouped rupees (10,00,000) on the y axis.
const yAxis = { size: 96, values: (u, vals) => vals.map((v) => v.toLocaleString("en-IN")) };
const marker = (stroke, fill) => ({ stroke, fill, width: 0, points: { show: true, size: 9, stroke, fill } , paths: () => null });
new uPlot({ title: "Equity (₹), fills marked", width, height: 360, scales: { x: { time: true } }, axes: [{}, yAxis],
  series: [{}, { label: "equity", stroke: "#2563eb", width: 1.5 }, { label: "buy", ...marker("#16a34a", "#16a34a") }, { label: "sell", ...marker("#dc2626", "#dc2626") }] },
  [d.t, rupees(d.equity), rupees(d.buys), rupees(d.sells)], document.getElementById("equity"));
new uPlot({ title: "Drawdown from the peak (₹)", width, height: 200, scales: { x: { time: true } }, axes: [{}, yAxis],
  series: [{}, { label: "drawdown", stroke: "#b91c1c", fill: "rgba(185,28,28,0.15)", width: 1 }] },
  [d.t, rupees(d.drawdown)], document.getElementById("drawdown"));
</script>
</body></html>
`;
}
