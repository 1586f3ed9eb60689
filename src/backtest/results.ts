/**
 * What a backtest makes of the events the stages produced: the fills in order, every order's
 * final state, the equity over event time, and the numbers of the report, per strategy and in
 * total. P&L comes from src/portfolio's pure fold (evolve/mark), one portfolio per strategy and
 * one for the whole account, fed the same ticks and fills as the portfolio stage.
 *
 * Nothing here reads a clock: every time is the time of the tick being handled.
 */
import type { AnyEnvelope, Envelope } from "../events/envelope.ts";
import type { PayloadOf } from "../events/payloads.ts";
import { instruments } from "../market/instruments.ts";
import { toRupees } from "../money.ts";
import { assertSafe, mul, mulDivRound } from "../intmath.ts";
import { evolveInPlace, initialPortfolio, markInPlace, positionKey, type PortfolioState } from "../portfolio/index.ts";
import type { InputTick } from "./input.ts";
import type { Observer } from "./engine.ts";

export interface OrderRow {
  order_id: string;
  created_ts: string;
  updated_ts: string;
  strategy_id: string;
  instrument_token: number;
  tradingsymbol: string | null;
  side: string;
  quantity: number;
  order_type: string;
  price: string | null;
  trigger_price: string | null;
  status: "PENDING" | "OPEN" | "PARTIALLY_FILLED" | "FILLED" | "REJECTED" | "CANCELLED" | "FAILED";
  filled_quantity: number;
  /** Σ fill quantity × price, paise (average = filled_value / filled_quantity). */
  filled_value: number;
  fees: number;
  reason_code: string | null;
  message: string | null;
}

/** Counts and the equity's drawdown and daily closes, of a strategy or of the whole account. */
class Tally {
  ticks = 0;
  signals = 0;
  orders = 0;
  fills = 0;
  turnover = 0;
  rejections: Record<string, number> = {};
  deadLettered = 0;
  peak: number;
  maxDrawdown = 0;
  maxDrawdownFraction = 0;
  /** The equity at the last event of each IST day, in day order. */
  dayClose: Array<{ day: string; equity: number }> = [];
  wins = 0;
  trips = 0;

  constructor(readonly startingCash: number) {
    this.peak = startingCash;
  }

  /** After a price or a fill: the drawdown from the peak, and the day's close so far. */
  observe(day: string, e: number): void {
    if (e > this.peak) this.peak = e;
    else if (this.peak - e > this.maxDrawdown) {
      this.maxDrawdown = this.peak - e;
      this.maxDrawdownFraction = this.peak > 0 ? this.maxDrawdown / this.peak : 0;
    }
    const last = this.dayClose[this.dayClose.length - 1];
    if (last?.day === day) last.equity = e;
    else this.dayClose.push({ day, equity: e });
  }
}

/** A strategy's account: its own portfolio (src/portfolio's fold), as if it traded alone. */
class Book extends Tally {
  readonly state: PortfolioState;
  /** Per position: realised and fees when its current round trip opened. */
  private readonly open = new Map<string, { realised: number; fees: number }>();

  constructor(startingCash: number) {
    super(startingCash);
    this.state = initialPortfolio({ broker: "paper", starting_cash: startingCash });
  }

  /** Realised + unrealised − fees. */
  get pnl(): number {
    const t = this.state.totals;
    return t.realised_pnl + t.unrealised_pnl - t.fees;
  }

  /** Cash + Σ quantity × mark, which is starting cash + realised + unrealised − fees. */
  get equity(): number {
    return assertSafe(this.startingCash + this.pnl, "equity");
  }

  /**
   * A fill, and the round trip it may close: a position from flat back to flat, or through it
   * (a fill that flips the position closes one trip, with the whole fill's fees, and opens the
   * next). A trip wins when its realised P&L less its fees is above zero.
   */
  fill(f: PayloadOf<"order.filled">): void {
    const key = positionKey(f.strategy_id, f.instrument_token);
    const before = this.state.positions[key]?.quantity ?? 0;
    evolveInPlace(this.state, f);
    const p = this.state.positions[key]!;
    this.fills++;
    this.turnover = assertSafe(this.turnover + mul(f.fill_quantity, f.fill_price, "fill value"), "turnover");
    if (before === 0) this.open.set(key, { realised: p.realised_pnl, fees: p.fees - f.fees });
    else if (p.quantity === 0 || Math.sign(p.quantity) !== Math.sign(before)) {
      const o = this.open.get(key)!;
      const pnl = p.realised_pnl - o.realised - (p.fees - o.fees);
      this.trips++;
      if (pnl > 0) this.wins++;
      if (p.quantity !== 0) this.open.set(key, { realised: p.realised_pnl, fees: p.fees });
      else this.open.delete(key);
    }
  }
}

const istDay = (ms: number) => new Date(ms + 19_800_000).toISOString().slice(0, 10);
const iso = (ms: number) => new Date(ms).toISOString();
const rupeesOrNull = (p: number | undefined) => (p === undefined ? null : toRupees(p));

/** Sharpe on daily equity (see the README text): null below two days or with no variation. */
export function sharpe(startingCash: number, closes: readonly number[]): number | null {
  if (closes.length < 2) return null;
  const r: number[] = [];
  let prev = startingCash;
  for (const e of closes) {
    r.push(prev > 0 ? e / prev - 1 : 0);
    prev = e;
  }
  const mean = r.reduce((a, b) => a + b, 0) / r.length;
  const variance = r.reduce((a, b) => a + (b - mean) ** 2, 0) / (r.length - 1);
  if (!(variance > 0)) return null;
  return round6((mean / Math.sqrt(variance)) * Math.sqrt(252));
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

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
  side?: "BUY" | "SELL";
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
  readonly orders = new Map<string, OrderRow>();
  private readonly equity_: EquityRow[] = [];
  readonly chart: ChartPoint[] = [];
  ticks = 0;
  firstAt: number | undefined;
  lastAt: number | undefined;
  private minute = -1;
  private day = "";

  constructor(
    readonly startingCash: number,
    strategies: ReadonlyArray<{ id: string; instruments: readonly number[] }>,
  ) {
    this.total = new Tally(startingCash);
    for (const s of [...strategies].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const book = new Book(startingCash);
      this.books.set(s.id, book);
      for (const t of new Set(s.instruments)) this.routes.set(t, [...(this.routes.get(t) ?? []), book]);
    }
  }

  private book(strategyId: string): Book {
    let b = this.books.get(strategyId);
    if (!b) {
      // A strategy the run did not start with (none today): kept apart all the same.
      b = new Book(this.startingCash);
      this.books.set(strategyId, b);
    }
    return b;
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
    for (const b of this.books.values()) {
      markInPlace(b.state, t.tick);
      b.observe(this.day, b.equity);
    }
    this.total.observe(this.day, this.equity);
    const routed = this.routes.get(t.tick.instrument_token);
    if (routed) for (const b of routed) b.ticks++;
  }

  /** The whole account's equity: starting cash + every strategy's P&L. */
  get equity(): number {
    let e = this.startingCash;
    for (const b of this.books.values()) e += b.pnl;
    return assertSafe(e, "equity");
  }

  /** The whole account's totals: the strategies' summed. */
  totals(): { cash: number; realised: number; unrealised: number; fees: number; open: number; turnover: number; trips: number; wins: number } {
    const t = { cash: this.startingCash, realised: 0, unrealised: 0, fees: 0, open: 0, turnover: 0, trips: 0, wins: 0 };
    for (const b of this.books.values()) {
      t.cash += b.state.cash - this.startingCash;
      t.realised += b.state.totals.realised_pnl;
      t.unrealised += b.state.totals.unrealised_pnl;
      t.fees += b.state.totals.fees;
      t.open += b.state.totals.open_positions;
      t.turnover += b.turnover;
      t.trips += b.trips;
      t.wins += b.wins;
    }
    return t;
  }

  /** The state at the minute's last event. */
  private closeMinute(): void {
    const t = this.totals();
    const equity = this.equity;
    this.equity_.push({ at: this.lastAt!, cash: t.cash, realised: t.realised, unrealised: t.unrealised, equity });
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
        this.order(ev.data, at, "PENDING");
        return;
      case "signal.rejected":
        this.reject(ev.data.strategy_id, ev.data.reason_code);
        this.order(ev.data, at, "REJECTED", ev.data.reason_code, ev.data.message);
        return;
      case "order.submitted":
        this.order(ev.data, at, "OPEN");
        return;
      case "order.rejected":
        this.reject(ev.data.strategy_id, ev.data.reason_code);
        this.order(ev.data, at, "REJECTED", ev.data.reason_code, ev.data.message);
        return;
      case "order.cancelled":
        this.order(ev.data, at, "CANCELLED");
        return;
      case "order.failed":
        this.reject(ev.data.strategy_id, ev.data.reason_code);
        this.order(ev.data, at, "FAILED", ev.data.reason_code, ev.data.message);
        return;
      case "order.filled": {
        const f = ev.data;
        const book = this.book(f.strategy_id);
        book.fill(f);
        book.observe(this.day, book.equity);
        this.total.fills++;
        this.total.observe(this.day, this.equity);
        const row = this.order(f, at, f.status);
        row.filled_quantity += f.fill_quantity;
        row.filled_value = assertSafe(row.filled_value + mul(f.fill_quantity, f.fill_price, "fill value"), "filled value");
        row.fees += f.fees;
        this.fills.push(
          JSON.stringify({
            ts: iso(at),
            order_id: f.order_id,
            fill_id: f.fill_id,
            strategy_id: f.strategy_id,
            instrument_token: f.instrument_token,
            tradingsymbol: instruments.byToken(f.instrument_token)?.tradingsymbol ?? null,
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

  deadLetter(stage: string, _topic: string, e: AnyEnvelope): void {
    const sid = (e.data as { strategy_id?: string }).strategy_id;
    if (sid) this.book(sid).deadLettered++;
    this.total.deadLettered++;
    void stage;
  }

  private reject(strategyId: string, reason: string): void {
    const b = this.book(strategyId);
    b.rejections[reason] = (b.rejections[reason] ?? 0) + 1;
    this.total.rejections[reason] = (this.total.rejections[reason] ?? 0) + 1;
  }

  /** The order's row, made at its first event; a final status stays. */
  private order(
    d: { order_id?: string; signal_id: string; strategy_id: string; instrument_token: number; side: string; quantity: number; order_type: string; price?: number; trigger_price?: number },
    at: number,
    status: OrderRow["status"],
    reason?: string,
    message?: string,
  ): OrderRow {
    const id = d.order_id ?? d.signal_id;
    let row = this.orders.get(id);
    if (!row) {
      row = {
        order_id: id,
        created_ts: iso(at),
        updated_ts: iso(at),
        strategy_id: d.strategy_id,
        instrument_token: d.instrument_token,
        tradingsymbol: instruments.byToken(d.instrument_token)?.tradingsymbol ?? null,
        side: d.side,
        quantity: d.quantity,
        order_type: d.order_type,
        price: rupeesOrNull(d.price),
        trigger_price: rupeesOrNull(d.trigger_price),
        status,
        filled_quantity: 0,
        filled_value: 0,
        fees: 0,
        reason_code: null,
        message: null,
      };
      this.orders.set(id, row);
    }
    row.updated_ts = iso(at);
    if (!["FILLED", "REJECTED", "CANCELLED", "FAILED"].includes(row.status)) row.status = status;
    if (reason !== undefined) row.reason_code = reason;
    if (message !== undefined) row.message = message;
    return row;
  }

  /** Ends the run: the last minute's row. */
  finish(): void {
    if (this.minute >= 0) this.closeMinute();
    this.minute = -1;
  }

  /** A strategy's report, or (no id) the whole account's; money as decimal rupees. */
  summary(id?: string): Record<string, unknown> {
    const b = id === undefined ? undefined : this.books.get(id)!;
    const x = b ? { tally: b as Tally, realised: b.state.totals.realised_pnl, unrealised: b.state.totals.unrealised_pnl, fees: b.state.totals.fees, open: b.state.totals.open_positions, turnover: b.turnover, trips: b.trips, wins: b.wins, equity: b.equity }
      : { tally: this.total, ...this.totals(), equity: this.equity };
    const t = x.tally;
    return {
      ticks: t.ticks,
      signals: t.signals,
      orders: t.orders,
      fills: t.fills,
      rejections: Object.fromEntries(Object.entries(t.rejections).sort(([a], [c]) => (a < c ? -1 : 1))),
      dead_lettered: t.deadLettered,
      realised_pnl: toRupees(x.realised),
      unrealised_pnl: toRupees(x.unrealised),
      fees: toRupees(x.fees),
      net_pnl: toRupees(x.realised + x.unrealised - x.fees),
      turnover: toRupees(x.turnover),
      open_positions: x.open,
      round_trips: x.trips,
      winning_round_trips: x.wins,
      win_rate: x.trips === 0 ? null : round6(x.wins / x.trips),
      max_drawdown: toRupees(t.maxDrawdown),
      max_drawdown_fraction: round6(t.maxDrawdownFraction),
      trading_days: t.dayClose.length,
      sharpe: sharpe(t.startingCash, t.dayClose.map((d) => d.equity)),
      final_equity: toRupees(x.equity),
    };
  }

  fillsJsonl(): string {
    return this.fills.length === 0 ? "" : this.fills.join("\n") + "\n";
  }

  ordersJsonl(): string {
    let out = "";
    for (const r of this.orders.values()) {
      const { filled_value, ...rest } = r;
      out +=
        JSON.stringify({
          ...rest,
          average_price: r.filled_quantity > 0 ? toRupees(mulDivRound(filled_value, 1, r.filled_quantity)) : null,
          fees: toRupees(r.fees),
        }) + "\n";
    }
    return out;
  }

  equityCsv(): string {
    let out = "time,cash,realised,unrealised,equity\n";
    for (const r of this.equity_) out += `${iso(r.at)},${toRupees(r.cash)},${toRupees(r.realised)},${toRupees(r.unrealised)},${toRupees(r.equity)}\n`;
    return out;
  }
}
