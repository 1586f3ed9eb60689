/**
 * `bun run backtest FILE [--out DIR] [--strategies FILE] [--limits FILE] [--cash RUPEES]
 * [--instrument TOKEN|SYMBOL] [--market-hours nse|off]`: the live stages over a file (src/backtest). Exit 0 when done,
 * 2 on bad input (nothing written), 1 on any other failure.
 */
import { BacktestInputError, parseArgs, runBacktest } from "../src/backtest/index.ts";

function bar(done: number, total: number, elapsedMs: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0;
  process.stderr.write(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done.toLocaleString("en")}/${total.toLocaleString("en")} ticks, ${rate.toLocaleString("en")} ticks/s `);
  if (done === total) process.stderr.write("\n");
}

try {
  const args = parseArgs(process.argv.slice(2));
  const { report, files } = await runBacktest({ ...args, progress: process.stderr.isTTY ? bar : undefined });
  const t = report.total;
  console.log(
    `${report.run.elapsed_s} s, ${Number(report.run.ticks_per_s).toLocaleString("en")} ticks/s: ${t.signals} signals, ${t.orders} orders, ${t.fills} fills; ` +
      `realised ₹${t.realised_pnl}, unrealised ₹${t.unrealised_pnl}, fees ₹${t.fees}, net ₹${t.net_pnl}`,
  );
  console.log(`wrote ${Object.values(files).join(", ")}`);
  process.exit(0);
} catch (err) {
  if (err instanceof BacktestInputError) {
    console.error(`backtest: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
}
