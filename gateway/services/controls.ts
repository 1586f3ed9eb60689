/**
 * Control commands from the API (strategies, limits, the trading state): written to each broker's
 * control topic and answered once the log acknowledged them and this process projected them, so a
 * read after the answer sees them. Every stage applies them in log order from then on.
 */
import type { Broker } from "../../src/config.ts";
import { sendControl, type ControlCommand } from "../../src/control/index.ts";
import { AlphaError, bounded } from "../../src/errors.ts";
import type { Producer } from "../../src/log/port.ts";
import type { ControlPlane } from "../control.ts";
import { LOG_WAIT_MS } from "./budgets.ts";

export interface ControlCommands {
  /** The control plane this process projects with; LOG_UNAVAILABLE (a 503) when there is none. */
  plane(): Promise<ControlPlane>;
  /** Sends `command` to each broker's control topic; LOG_UNAVAILABLE when the log does not acknowledge it within LOG_WAIT_MS. */
  send(brokers: readonly Broker[], command: ControlCommand, what: string): Promise<void>;
  /** The brokers of this gateway a strategy's command goes to; PAYLOAD_INVALID when it runs none of them. */
  brokersHere(brokers: readonly Broker[]): Broker[];
}

/**
 * @example
 * const controls = controlCommands({ producer, activeBrokers, controls: plane });
 * await controls.send(["paper"], { type: "control.trading_state", data: { state: "HALTED", reason: "" } }, "set the trading state");
 */
export function controlCommands(deps: { producer: Producer; activeBrokers: readonly Broker[]; controls?: ControlPlane }): ControlCommands {
  const active = deps.activeBrokers;
  const plane = async (): Promise<ControlPlane> => {
    if (!deps.controls) throw new AlphaError("LOG_UNAVAILABLE", "this gateway does not read the control topics", { canRetry: true });
    return deps.controls;
  };
  return {
    plane,
    async send(brokers, command, what) {
      const controlPlane = await plane();
      await bounded(
        Promise.all(brokers.map((broker) => sendControl(deps.producer, broker, command, "gateway.api"))),
        LOG_WAIT_MS,
        "LOG_UNAVAILABLE",
        `cannot ${what}: the log did not acknowledge the command, so nothing changed`,
      );
      await controlPlane.caughtUp();
    },
    brokersHere(brokers) {
      // One this gateway does not run has no control topic here.
      const here = brokers.filter((broker) => active.includes(broker));
      if (here.length === 0) {
        throw new AlphaError("PAYLOAD_INVALID", `brokers: ${brokers.join(", ")} not run by this gateway (ACTIVE_BROKERS is ${active.join(", ")})`, {
          details: [{ path: "brokers", message: `none of ${brokers.join(", ")} is an active broker (${active.join(", ")})` }],
        });
      }
      return here;
    },
  };
}
