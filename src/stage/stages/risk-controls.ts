/**
 * The control side of the risk stage (src/stage/stages/risk.ts): the trading state and limits
 * from `{broker}.control`, the catch-up before the first signal of each batch, the strategy
 * checks, and the daily-loss state (REDUCING) written as a command.
 */
import type { Broker } from "../../config.ts";
import { controlEnvelope, ControlReader, strategyVerdict, type AppliedControl } from "../../control/index.ts";
import { childOf, type AnyEnvelope, type Envelope } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import type { RiskEvent, RiskState } from "../../risk/index.ts";
import { topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";

/**
 * The control side of the risk stage: the trading state and limits from `{broker}.control`
 * (applied as RiskEvents, in log order, stamped with the command's ts), the catch-up before the
 * first signal of each batch, the strategy checks, and the daily-loss REDUCING written as a command.
 */
export function controlSide(ctx: StageContext, brokers: readonly Broker[], state: Map<Broker, RiskState>, apply: (b: Broker, e: RiskEvent) => void, breached: Set<Broker>) {
  const reader = new ControlReader(ctx.log, brokers, { name: "risk", logger: ctx.logger });
  reader.onCommand((c: AppliedControl) => {
    if (!state.has(c.broker)) return;
    const cmd = c.command;
    if (cmd.type === "control.trading_state") apply(c.broker, { type: "TradingStateSet", state: cmd.data.state, reason: cmd.data.reason || "set by operator", at: c.at });
    else if (cmd.type === "control.limits") apply(c.broker, { type: "LimitsChanged", limits: cmd.data.limits, at: c.at });
  });
  let caught = false;
  /** This batch's catch-up, started as the batch arrived (see onBatch). */
  let early: Promise<void> | undefined;
  return {
    /** Joins and applies every control the log holds before the stage takes its first batch. */
    async start(): Promise<void> {
      await reader.start();
      await reader.caughtUp();
      // What the log held (the last state, a breach's own command) is applied: nothing to write yet.
      breached.clear();
    },
    /**
     * A new batch; `hasSignals`: it holds signals, so the catch-up they need starts now, while the
     * processor looks their ids up in the dedup cache, instead of after that round trip. The end
     * offsets read now are still read after the signals were created.
     */
    onBatch(hasSignals: boolean): void {
      caught = false;
      early = hasSignals ? reader.caughtUp() : undefined;
      // Awaited by the first signal; a batch that fails before it must not leave a rejection unheard.
      early?.catch(() => {});
    },
    /**
     * Once per batch, before its first signal: the signal was in the log before this batch was
     * fetched, and any control acknowledged before the signal was created is below the end
     * offset read now, so it is applied when this resolves.
     */
    async caughtUpOncePerBatch(): Promise<void> {
      if (caught) return;
      // A failed early catch-up is not reused: the retry reads the end offsets again.
      const pending = early ?? reader.caughtUp();
      early = undefined;
      await pending;
      caught = true;
    },
    /** A strategy's signal refused under risk's own view of its strategy (API orders carry no strategy_offset). */
    refuse(broker: Broker, e: Envelope<"signal.generated">): Outgoing | undefined {
      const signal = e.data;
      if (signal.strategy_offset === undefined) return undefined;
      const verdict = strategyVerdict(reader.state(broker), broker, signal.strategy_id, signal.strategy_offset);
      if (!verdict) return undefined;
      const child = childOf(e, {
        type: "signal.rejected",
        source: "risk",
        broker,
        key: e.key,
        data: { ...signal, checks: [{ rule: verdict.reason_code, passed: false, detail: verdict.message }], ...verdict },
      });
      return { topic: topicName("signalsRejected", broker), event: { ...child, id: derivedId(e.id, "risk") } };
    },
    /**
     * The REDUCING commands of the brokers whose daily loss was breached, as outputs of the event
     * being handled (acknowledged before its batch commits; ids derived from it, so a redelivery
     * writes the same). Only while still REDUCING: an operator may have changed it meanwhile.
     * The brokers written are returned too: their intraday positions are squared off.
     */
    breaches(e: AnyEnvelope): { out: Outgoing[]; reducing: Broker[] } {
      const out: Outgoing[] = [];
      const reducing: Broker[] = [];
      for (const b of breached) {
        const s = state.get(b)!;
        if (s.trading !== "REDUCING") continue;
        ctx.logger.warn({ broker: b, reason: s.trading_reason }, "daily loss limit breached: trading REDUCING, intraday positions squared off");
        const cmd = controlEnvelope(b, { type: "control.trading_state", data: { state: "REDUCING", reason: s.trading_reason ?? "DAILY_LOSS_BREACHED" } }, "risk");
        out.push({ topic: topicName("control", b), event: { ...cmd, id: derivedId(e.id, `risk/daily-loss/${b}`), causation_id: e.id, correlation_id: e.correlation_id, trace_id: e.trace_id } });
        reducing.push(b);
      }
      breached.clear();
      return { out, reducing };
    },
    close: () => reader.close(),
  };
}
