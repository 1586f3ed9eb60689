/**
 * The order relay: sends the order outbox's rows (src/store/outbox.ts) to the log and marks them
 * sent, so an order the API acknowledged reaches `{broker}.signals.raw` at least once whatever
 * crashes between its insert and its send.
 *
 * - The API's own insert claims its row for a lease and sends it at once (`sendNow`): the common
 *   case has no polling delay and no extra statement before the answer.
 * - A loop (at start, then every `pollMs`, and at once when kicked) ends rows past their deadline
 *   (FAILED SEND_TIMEOUT), then claims unsent rows whose lease lapsed (a crashed process's, a
 *   failed send's) with `for update skip locked`, so several gateways on one database share the
 *   work without waiting on each other, and sends them.
 * - Marks are batched: each send's mark waits up to `markDelayMs` and joins the next `update …
 *   where event_id = any(…)`, one statement for every send that finished meanwhile, off the API's
 *   path. A mark only keeps another relay from sending a row again once its lease lapses, so it
 *   can wait; a statement per order would queue before the inserts in the embedded database's one
 *   session.
 * - A send that has not finished is never started again by this process; another process may
 *   resend it once the lease lapses. A duplicate is harmless (the envelope id is the dedup key
 *   downstream); the lease keeps them rare.
 *
 * Deadlines: no send starts later than `attemptMs` before a row's deadline; rows are ended
 * `settleMs` after it, and only if no stage has recorded an event for the order (see expireDue).
 * A copy that reaches the log late anyway (a send in doubt) is refused by risk, which checks
 * the deadline the envelope carries.
 */
import type { Sql } from "postgres";
import type { Broker } from "../src/config.ts";
import { childOf, encodeEnvelope, type Envelope } from "../src/events/envelope.ts";
import type { Producer } from "../src/log/port.ts";
import type { Logger } from "../src/logger.ts";
import { claimDue, claimOrder, expireDue, markSent, pruneEnded, SEND_TIMEOUT, type ExpiredOrder, type OutboxMessage } from "../src/store/outbox.ts";
import { topicName } from "../src/topics.ts";

const EXPIRED_MESSAGE = "not sent to the broker before the order's send deadline (ORDER_SEND_TIMEOUT_MS)";

export interface RelayOptions {
  sql: Sql;
  producer: Producer;
  logger: Logger;
  /** How long a claim holds a row from other relays (default 5 s). */
  leaseMs?: number;
  /** No send starts closer than this to a row's deadline (default 1 s). */
  attemptMs?: number;
  /** Rows are ended this long after their deadline, for stages' events to be recorded (default 2 s). */
  settleMs?: number;
  /** How often the loop looks for rows to send or end (default 1 s). */
  pollMs?: number;
  /** Rows claimed per round (default 200). */
  batch?: number;
  /** Ended rows are deleted after this long (default 5 minutes): kept to look into, not needed. */
  keepMs?: number;
  /** How long a send's mark waits for others to share its statement (default 100 ms; far below the lease). */
  markDelayMs?: number;
}

const sleep = (ms: number) => new Promise<false>((r) => setTimeout(() => r(false), ms));

export class OrderRelay {
  readonly leaseMs: number;
  readonly attemptMs: number;
  readonly settleMs: number;
  readonly #options: Required<Pick<RelayOptions, "pollMs" | "batch" | "keepMs" | "markDelayMs">> & RelayOptions;
  /** Sends this process awaits, by event id: never started twice here. */
  readonly #inFlight = new Map<string, Promise<boolean>>();
  /** Rows this process holds (inserted or claimed) whose send failed: claimed again at once. */
  readonly #retry = new Set<string>();
  /** Orders being voided (an insert in doubt when the API answered 503): never sent from here. */
  readonly #held = new Set<string>();
  #toMark: string[] = [];
  #marking: Promise<void> | undefined;
  #markTimer: Timer | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #kicked = false;
  #closed = false;
  #lastPrune = 0;
  #lastError = 0;
  readonly stats = { sent: 0, failedSends: 0, expired: 0, rounds: 0 };

  constructor(options: RelayOptions) {
    this.#options = { pollMs: 1_000, batch: 200, keepMs: 300_000, markDelayMs: 100, ...options };
    this.leaseMs = options.leaseMs ?? 5_000;
    this.attemptMs = options.attemptMs ?? 1_000;
    this.settleMs = options.settleMs ?? 2_000;
  }

  /** Starts the loop; its first round runs at once (rows left by a crash are sent at start). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Asks for a round now (a retry of an unsent order, a send that failed). */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  /**
   * Sends a row this process holds (its own insert's); resolves true once the log has it, false
   * when `waitMs` passed first or the send failed (the loop sends it again) or the row is too
   * close to its deadline to be sent.
   */
  async sendNow(m: OutboxMessage, waitMs: number): Promise<boolean> {
    const sending = this.#send(m);
    if (!sending) return false;
    // Its own timer, cleared: a sleep per order would leave thousands of timers pending.
    let timer: Timer | undefined;
    const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), waitMs)));
    return Promise.race([sending, late]).finally(() => clearTimeout(timer));
  }

  /** A client retried an order not sent yet: claim its row whoever holds it, and send it. */
  async resend(orderId: string): Promise<void> {
    if (this.#held.has(orderId)) return;
    const message = await claimOrder(this.#options.sql, orderId, this.leaseMs, Date.now() + this.attemptMs);
    if (message) this.#send(message);
    else this.kick(); // nothing to send here: the loop ends it if it expired
  }

  /** Keeps an order from being sent by this process until `release`. */
  hold(orderId: string): void {
    this.#held.add(orderId);
  }
  release(orderId: string): void {
    this.#held.delete(orderId);
  }
  isHeld(orderId: string): boolean {
    return this.#held.has(orderId);
  }

  /** Stops the loop; waits (bounded) for sends in flight and writes their marks. */
  async close(waitMs = 2_000): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    await this.#loop;
    await Promise.race([Promise.allSettled([...this.#inFlight.values()]), sleep(waitMs)]);
    clearTimeout(this.#markTimer);
    this.#markTimer = undefined;
    await this.#marking;
    await this.#flushMarks();
  }

  /** Starts a send unless one is in flight for this row, or it is held or too late; its promise. */
  #send(m: OutboxMessage): Promise<boolean> | undefined {
    if (this.#held.has(m.order_id)) return undefined;
    const running = this.#inFlight.get(m.event_id);
    if (running) return running;
    if (m.expires_at - Date.now() < this.attemptMs) return undefined;
    this.#retry.delete(m.event_id);
    const p = this.#options.producer.send([{ topic: m.topic, key: m.key, value: m.envelope }]).then(
      () => {
        this.stats.sent++;
        this.#mark(m.event_id);
        return true;
      },
      (err: unknown) => {
        this.stats.failedSends++;
        this.#retry.add(m.event_id);
        this.#warn(err, "an order's send failed; the relay sends it again", { order_id: m.order_id });
        return false;
      },
    );
    this.#inFlight.set(m.event_id, p);
    void p.finally(() => this.#inFlight.delete(m.event_id));
    return p;
  }

  #mark(eventId: string): void {
    this.#toMark.push(eventId);
    // A flush running takes this mark in its next statement; otherwise one starts after the delay.
    if (this.#marking || this.#markTimer) return;
    this.#markTimer = setTimeout(() => {
      this.#markTimer = undefined;
      this.#marking = this.#flushMarks().finally(() => (this.#marking = undefined));
    }, this.#options.markDelayMs);
  }

  /** One statement for every mark waiting; on failure they wait for the next round. */
  async #flushMarks(): Promise<void> {
    while (this.#toMark.length > 0) {
      const ids = this.#toMark;
      this.#toMark = [];
      try {
        await markSent(this.#options.sql, ids);
      } catch (err) {
        this.#toMark.push(...ids);
        this.#warn(err, "could not mark sent orders; trying again (until then another relay may send them again)");
        return;
      }
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      this.#kicked = false;
      try {
        await this.round();
      } catch (err) {
        this.#warn(err, "outbox relay round failed; trying again");
      }
      if (this.#closed) break;
      if (!this.#kicked) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.#options.pollMs);
          this.#wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
  }

  /** One round: marks, ends the expired, sends the due. Exposed for tests. */
  async round(): Promise<void> {
    this.stats.rounds++;
    const sql = this.#options.sql;
    await this.#flushMarks();
    const now = Date.now();
    const expired = await expireDue(sql, { before: now - this.settleMs, limit: this.#options.batch, message: EXPIRED_MESSAGE });
    if (expired.length > 0) {
      this.stats.expired += expired.length;
      this.#options.logger.warn({ orders: expired.length, first: expired[0]!.order_id }, "orders not sent before their deadline: FAILED SEND_TIMEOUT");
      this.#announce(expired);
    }
    const mine = [...this.#retry];
    const due = await claimDue(sql, { limit: this.#options.batch, leaseMs: this.leaseMs, sendBefore: now + this.attemptMs, mine, skip: [...this.#inFlight.keys()] });
    // A row of ours not claimed again was sent or ended elsewhere, or expired: not ours to retry.
    const claimed = new Set(due.map((m) => m.event_id));
    for (const id of mine) if (!claimed.has(id)) this.#retry.delete(id);
    for (const m of due) this.#send(m);
    // A full batch (a backlog after an outage or at start): the next round at once.
    if (due.length === this.#options.batch || expired.length === this.#options.batch) this.#kicked = true;
    if (now - this.#lastPrune >= 1_000) {
      this.#lastPrune = now;
      await pruneEnded(sql, this.#options.keepMs);
    }
  }

  /**
   * Publishes each ended order's `order.failed` (SEND_TIMEOUT) to its broker's orders.failed, so
   * WebSocket subscribers see the end too. Best effort, once: the database already holds the
   * outcome (GET shows it), and the projection records the event under the id it already has.
   */
  #announce(expired: readonly ExpiredOrder[]): void {
    const messages = [];
    for (const order of expired) {
      try {
        const signal = JSON.parse(order.envelope) as Envelope<"signal.generated">;
        const signalData = signal.data;
        const failed = childOf(signal, {
          type: "order.failed",
          source: "gateway",
          broker: signal.broker,
          key: signal.key,
          data: {
            order_id: order.order_id,
            signal_id: signalData.signal_id,
            strategy_id: signalData.strategy_id,
            instrument_token: signalData.instrument_token,
            side: signalData.side,
            quantity: signalData.quantity,
            order_type: signalData.order_type,
            ...(signalData.price !== undefined ? { price: signalData.price } : {}),
            ...(signalData.trigger_price !== undefined ? { trigger_price: signalData.trigger_price } : {}),
            reason_code: SEND_TIMEOUT,
            message: EXPIRED_MESSAGE,
          },
        });
        messages.push({ topic: topicName("ordersFailed", signal.broker as Broker), key: signal.key, value: encodeEnvelope({ ...failed, id: order.failed_event_id }) });
      } catch (err) {
        this.#warn(err, "could not build an expired order's order.failed event", { order_id: order.order_id });
      }
    }
    if (messages.length === 0) return;
    void this.#options.producer.send(messages).catch((err: unknown) => this.#warn(err, "could not publish expired orders' order.failed (the orders are FAILED all the same)"));
  }

  /** Warnings at most once a second: an outage fails every round and every send. */
  #warn(err: unknown, msg: string, extra: Record<string, unknown> = {}): void {
    const now = Date.now();
    if (now - this.#lastError < 1_000) return;
    this.#lastError = now;
    this.#options.logger.warn({ ...extra, err: err instanceof Error ? err.message : String(err) }, msg);
  }
}
