/**
 * How long each call of the services waits on a dependency before it answers 503: every route
 * answers within 2 s whatever is down.
 */

/**
 * POST /orders: the insert's wait, then (when it had no answer) a short wait more for its
 * outcome; then the first send's.
 */
export const PLACE_STORE_WAIT_MS = 1_000;
export const PLACE_DOUBT_WAIT_MS = 300;
export const PLACE_SEND_WAIT_MS = 400;
/** How long a cancel, a control command or a tick waits for the log before answering 503. */
export const LOG_WAIT_MS = 1_500;
/**
 * How long a cancel of an order still PENDING (accepted, not yet at the exchange) waits for the
 * exchange to have it: the order travels through risk and the cancel does not, so a cancel sent
 * at once could overtake it. Within the 2 s with LOG_WAIT_MS; past it the cancel is sent anyway.
 */
export const REACH_WAIT_MS = 400;
/** The bound on any service call: past it the API answers 503 (TIMEOUT) rather than hang. */
export const SERVICE_WAIT_MS = 1_900;
