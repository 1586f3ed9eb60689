/**
 * What a backtest makes of the events the stages produced: the fills in order, every order's
 * final state, the equity over event time, and the numbers of the report, per strategy and in
 * total. P&L comes from src/portfolio's pure fold (evolve/mark), one portfolio per strategy and
 * one for the whole account, fed the same ticks and fills as the portfolio stage.
 *
 * Nothing here reads a clock: every time is the time of the tick being handled.
 */
import type { Side } from "../orders/vocabulary.ts";
import type { AnyEnvelope, Envelope } from "../events/envelope.ts";
import { assertSafe } from "../intmath.ts";
import type { InstrumentMaster } from "../market/instruments.ts";
import { toRupees } from "../money.ts";
import { markInPlace } from "../portfolio/index.ts";
import { Book, round6, sharpe, Tally } from "./books.ts";
import type { Observer } from "./engine.ts";
import type { InputTick } from "./input.ts";
import { iso, OrderRows } from "./order-rows.ts";

const istDay = (ms: number) => new Date(ms + 19_800_000).toISOString().slice(0, 10);

export interface EquityRow {
  /** The minute's last event, ms. */
  at: number;
  cash: number;
  realised: number;
  unrealised: number;
  equity: number;
}

export interface ChartPoint {
  at: number;
  equity: number;
  drawdown: number;
  side?: Side;
}

/**
 * Collects a run's results; it is the dispatcher's observer.
 *
 * @example
 * const results = new Results(startingCash, strategyInstruments);
 * await pipeline.run(ticks, results);
 */
export class Results implements Observer {
  readonly total: Tally;
  readonly books = new Map<string, Book>();
  /** strategy id → the instruments it trades. */
  private readonly routes = new Map<number, Book[]>();
  readonly fills: string[] = [];
  readonly orders: OrderRows;
  private readonly equityRows: EquityRow[] = [];
  readonly chart: ChartPoint[] = [];
  ticks = 0;
  firstAt: number | undefined;
  lastAt: number | undefined;
  private minute = -1;
  private day = "";

  /** `instruments`: the run's master, for the symbols in fills.jsonl and orders.jsonl. */
  constructor(
    readonly startingCash: number,
    strategies: ReadonlyArray<{ id: string; instruments: readonly number[] }>,
    instruments: Pick<InstrumentMaster, "byToken">,
  ) {
    this.orders = new OrderRows(instruments);
    this.total = new Tally(startingCash);
    for (const s of [...strategies].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const book = new Book(startingCash);
      this.books.set(s.id, book);
      for (const t of new Set(s.instruments)) this.routes.set(t, [...(this.routes.get(t) ?? []), book]);
    }
  }

  private book(strategyId: string): Book {
    let book = this.books.get(strategyId);
    if (!book) {
      // A strategy the run did not start with (none today): kept apart all the same.
      book = new Book(this.startingCash);
      this.books.set(strategyId, book);
    }
    return book;
  }

  tick(t: InputTick, at: number): void {
    const minute = Math.floor(at / 60_000);
    if (minute !== this.minute) {
      if (this.minute >= 0) this.closeMinute();
      this.minute = minute;
      this.day = istDay(at);
    }
    this.ticks++;
    this.firstAt ??= at;
    this.lastAt = at;
    this.total.ticks++;
    for (const book of this.books.values()) {
      markInPlace(book.state, t.tick);
      book.observe(this.day, book.equity);
    }
    this.total.observe(this.day, this.equity);
    const routed = this.routes.get(t.tick.instrument_token);
    if (routed) for (const book of routed) book.ticks++;
  }

  /** The whole account's equity: starting cash + every strategy's P&L. */
  get equity(): number {
    let equity = this.startingCash;
    for (const book of this.books.values()) equity += book.pnl;
    return assertSafe(equity, "equity");
  }

  /** The whole account's totals: the strategies' summed. */
  totals(): { cash: number; realised: number; unrealised: number; fees: number; open: number; turnover: number; trips: number; wins: number } {
    const t = { cash: this.startingCash, realised: 0, unrealised: 0, fees: 0, open: 0, turnover: 0, trips: 0, wins: 0 };
    for (const book of this.books.values()) {
      t.cash += book.state.cash - this.startingCash;
      t.realised += book.state.totals.realised_pnl;
      t.unrealised += book.state.totals.unrealised_pnl;
      t.fees += book.state.totals.fees;
      t.open += book.state.totals.open_positions;
      t.turnover += book.turnover;
      t.trips += book.trips;
      t.wins += book.wins;
    }
    return t;
  }

  /** The state at the minute's last event. */
  private closeMinute(): void {
    const t = this.totals();
    const equity = this.equity;
    this.equityRows.push({ at: this.lastAt!, cash: t.cash, realised: t.realised, unrealised: t.unrealised, equity });
    this.chart.push({ at: this.lastAt!, equity, drawdown: equity - this.total.peak });
  }

  event(topic: string, e: Envelope, at: number): void {
    const ev = e as AnyEnvelope;
    switch (ev.type) {
      case "signal.generated":
        this.book(ev.data.strategy_id).signals++;
        this.total.signals++;
        return;
      case "signal.validated":
        this.book(ev.data.strategy_id).orders++;
        this.total.orders++;
        // Risk's own orders (the day's end) say why they were sent.
        this.orders.record(ev.data, at, "PENDING", undefined, ev.data.reduce_only && ev.source === "risk" ? ev.data.reason : undefined);
        return;
      case "signal.rejected":
        this.reject(ev.data.strategy_id, ev.data.reason_code);
        this.orders.record(ev.data, at, "REJECTED", ev.data.reason_code, ev.data.message);
        return;
      case "order.submitted":
        this.orders.record(ev.data, at, "OPEN");
        return;
      case "order.rejected":
        this.reject(ev.data.strategy_id, ev.data.reason_code);
        this.orders.record(ev.data, at, "REJECTED", ev.data.reason_code, ev.data.message);
        return;
      case "order.cancelled":
        this.orders.record(ev.data, at, "CANCELLED", undefined, ev.data.reason);
        return;
      case "order.failed":
        this.reject(ev.data.strategy_id, ev.data.reason_code);
        this.orders.record(ev.data, at, "FAILED", ev.data.reason_code, ev.data.message);
        return;
      case "order.filled": {
        const f = ev.data;
        const book = this.book(f.strategy_id);
        book.fill(f);
        book.observe(this.day, book.equity);
        this.total.fills++;
        this.total.observe(this.day, this.equity);
        this.orders.fill(f, at);
        this.fills.push(
          JSON.stringify({
            ts: iso(at),
            order_id: f.order_id,
            fill_id: f.fill_id,
            strategy_id: f.strategy_id,
            instrument_token: f.instrument_token,
            tradingsymbol: this.orders.symbolOf(f.instrument_token),
            side: f.side,
            quantity: f.fill_quantity,
            price: toRupees(f.fill_price),
            fees: toRupees(f.fees),
          }),
        );
        const equity = this.equity;
        this.chart.push({ at, equity, drawdown: equity - this.total.peak, side: f.side });
        return;
      }
      default:
        return;
    }
  }

  deadLetter(_stage: string, _topic: string, e: AnyEnvelope): void {
    const strategyId = (e.data as { strategy_id?: string }).strategy_id;
    if (strategyId) this.book(strategyId).deadLettered++;
    this.total.deadLettered++;
  }

  private reject(strategyId: string, reason: string): void {
    const book = this.book(strategyId);
    book.rejections[reason] = (book.rejections[reason] ?? 0) + 1;
    this.total.rejections[reason] = (this.total.rejections[reason] ?? 0) + 1;
  }

  /** Ends the run: the last minute's row. */
  finish(): void {
    if (this.minute >= 0) this.closeMinute();
    this.minute = -1;
  }

  /** A strategy's report, or (no id) the whole account's; money as decimal rupees. */
  summary(id?: string): Record<string, unknown> {
    const book = id === undefined ? undefined : this.books.get(id)!;
    const figures = book
      ? { tally: book as Tally, realised: book.state.totals.realised_pnl, unrealised: book.state.totals.unrealised_pnl, fees: book.state.totals.fees, open: book.state.totals.open_positions, turnover: book.turnover, trips: book.trips, wins: book.wins, equity: book.equity }
      : { tally: this.total, ...this.totals(), equity: this.equity };
    const t = figures.tally;
    return {
      ticks: t.ticks,
      signals: t.signals,
      orders: t.orders,
      fills: t.fills,
      rejections: Object.fromEntries(Object.entries(t.rejections).sort(([a], [c]) => (a < c ? -1 : 1))),
      dead_lettered: t.deadLettered,
      realised_pnl: toRupees(figures.realised),
      unrealised_pnl: toRupees(figures.unrealised),
      fees: toRupees(figures.fees),
      net_pnl: toRupees(figures.realised + figures.unrealised - figures.fees),
      turnover: toRupees(figures.turnover),
      open_positions: figures.open,
      round_trips: figures.trips,
      winning_round_trips: figures.wins,
      win_rate: figures.trips === 0 ? null : round6(figures.wins / figures.trips),
      max_drawdown: toRupees(t.maxDrawdown),
      max_drawdown_fraction: round6(t.maxDrawdownFraction),
      trading_days: t.dayClose.length,
      sharpe: sharpe(t.startingCash, t.dayClose.map((d) => d.equity)),
      final_equity: toRupees(figures.equity),
    };
  }

  fillsJsonl(): string {
    return this.fills.length === 0 ? "" : this.fills.join("\n") + "\n";
  }

  ordersJsonl(): string {
    return this.orders.jsonl();
  }

  equityCsv(): string {
    let out = "time,cash,realised,unrealised,equity\n";
    for (const r of this.equityRows) out += `${iso(r.at)},${toRupees(r.cash)},${toRupees(r.realised)},${toRupees(r.unrealised)},${toRupees(r.equity)}\n`;
    return out;
  }
}
