/**
 * A stage's own last prices (`stage_prices` of migration 0013), keyed by the stage that saw them:
 * no stage reads another's. `StagePrices` keeps them from the stage's ticks and saves the changed
 * ones once a second of tick time has passed since the last save, in the stage's afterSend.
 */
import type { Db } from "./db.ts";

const SAVE = `
insert into stage_prices (stage, instrument_token, price, at)
select $1, token, price, to_timestamp(at / 1000.0) from unnest($2::bigint[], $3::bigint[], $4::float8[]) as p(token, price, at)
on conflict (stage, instrument_token) do update set price = excluded.price, at = excluded.at
 where stage_prices.at <= excluded.at`;

const LOAD = `select instrument_token::text as token, price::text as price from stage_prices where stage = $1`;

/** How much tick time passes between two saves. */
const SAVE_EVERY_MS = 1_000;

/**
 * @example
 * const prices = new StagePrices(ctx.db, "execution");
 * await prices.load();          // at start and after a rebalance: the saved ones it does not know
 * prices.set(token, price, at); // every tick
 * await prices.saveIfDue();     // in afterSend
 */
export class StagePrices {
  private readonly last = new Map<number, number>();
  private readonly changed = new Map<number, number>();
  private clock = 0;
  private savedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly stage: string,
  ) {}

  get(token: number): number | undefined {
    return this.last.get(token);
  }

  /** A tick's price at its event time (ms). */
  set(token: number, price: number, at: number): void {
    this.last.set(token, price);
    this.changed.set(token, at);
    if (at > this.clock) this.clock = at;
  }

  entries(): IterableIterator<[number, number]> {
    return this.last.entries();
  }

  /** Adds the saved prices of the instruments this stage has no tick of yet (its own ticks are newer). */
  async load(): Promise<Array<[number, number]>> {
    const added: Array<[number, number]> = [];
    for (const r of await this.db.query<{ token: string; price: string }>(LOAD, [this.stage])) {
      const token = Number(r.token);
      if (this.last.has(token)) continue;
      this.last.set(token, Number(r.price));
      added.push([token, Number(r.price)]);
    }
    return added;
  }

  /** Saves the prices changed since the last save, once a second of tick time has passed. */
  async saveIfDue(): Promise<void> {
    if (this.changed.size === 0 || this.clock - this.savedAt < SAVE_EVERY_MS) return;
    const tokens = [...this.changed.keys()];
    await this.db.query(SAVE, [this.stage, tokens, tokens.map((t) => this.last.get(t)!), tokens.map((t) => this.changed.get(t)!)]);
    // Cleared after the write: a failed one is tried again with the next batch.
    this.changed.clear();
    this.savedAt = this.clock;
  }
}
