/**
 * What makes two deliveries one alert, so a replay places nothing twice. An alert that carries
 * an id (`id` or `alert_id`) is that id, for as long as the orders table keeps its orders. One
 * without is its exact body within a short window: the first time a body is seen opens a window
 * of ALERT_REPLAY_WINDOW_MS, and the same bytes again within it are a retried delivery of the
 * same alert; after it they are a new signal. The key becomes each order's client_order_id
 * (unique per broker in the orders table), so the store refuses the second order whatever races.
 */
import { createHash } from "node:crypto";

/** How long the same body is the same alert. */
export const ALERT_REPLAY_WINDOW_MS = 30_000;
/** Bodies remembered at most (the oldest go first): memory stays bounded whatever is sent. */
const MAX_REMEMBERED = 10_000;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The alert keys of one process. A body first seen here opens its window here; with several
 * gateways a retry that reaches another one is the same alert when it falls in the same
 * window-sized slice of the clock as the first sighting (the key names that slice). Two
 * sightings more than a window apart always fall in different slices.
 *
 * @example
 * const keys = new AlertKeys();
 * keys.of(webhook.id, body, alert.id); // "i3b1f…" (an id) or "b9ac0…-k2f7" (a body, its window)
 */
export class AlertKeys {
  private readonly firstSeen = new Map<string, number>();

  constructor(
    private readonly windowMs = ALERT_REPLAY_WINDOW_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The alert's key: from its id when it has one, else from its body and when it was first seen. */
  of(webhookId: string, body: string, id?: string): string {
    if (id !== undefined) return `i${sha256(`${webhookId}\n${id}`).slice(0, 24)}`;
    const digest = sha256(`${webhookId}\n${body}`).slice(0, 20);
    const now = this.clock();
    let opened = this.firstSeen.get(digest);
    if (opened === undefined || now - opened >= this.windowMs) {
      opened = now;
      this.firstSeen.delete(digest);
      if (this.firstSeen.size >= MAX_REMEMBERED) this.firstSeen.delete(this.firstSeen.keys().next().value!);
      this.firstSeen.set(digest, opened);
    }
    return `b${digest}-${Math.floor(opened / this.windowMs).toString(36)}`;
  }
}

/**
 * The client_order_id of the `index`th order an alert makes (letters, digits and . - only, at most 64).
 *
 * @example
 * clientOrderId("0190c3a2-…", "i3b1f…", 0); // "wh.0190c3a27c1f.i3b1f….0"
 */
export const clientOrderId = (webhookId: string, alertKey: string, index: number): string => `wh.${webhookId.replaceAll("-", "").slice(0, 12)}.${alertKey}.${index}`;
