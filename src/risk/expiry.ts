/**
 * An order placed through the API carries the time after which it must not reach a venue
 * (`expires_at`, from ORDER_SEND_TIMEOUT_MS). The gateway's relay never sends it after that, but
 * a copy whose send was in doubt can still reach the log late: risk, the last stage before
 * execution, refuses it. Judged by risk's event clock (the latest event time it has seen, ticks
 * included), not the wall clock: with a live feed that clock is the market's, and a replay gives
 * the same answer every time. (Strategies' signals carry no deadline.)
 */
export const SEND_TIMEOUT = "SEND_TIMEOUT";

/** The refusal of a signal past its deadline at `now` (the event clock, epoch ms), or undefined when it is in time. */
export function expiredSignal(signal: { expires_at?: string }, now: number): { reason_code: typeof SEND_TIMEOUT; message: string } | undefined {
  if (signal.expires_at === undefined) return undefined;
  const deadline = Date.parse(signal.expires_at);
  if (!Number.isFinite(deadline) || now <= deadline) return undefined;
  return { reason_code: SEND_TIMEOUT, message: `reached risk ${now - deadline} ms after its send deadline ${signal.expires_at}: not sent to the broker` };
}
