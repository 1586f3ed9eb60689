/**
 * The gateway's side of the controls: seeding an empty control topic from the tables (once, at
 * start, before the stages are built), and the projector that keeps trading_state, risk_limits and
 * strategies equal to the control topics (a ControlReader on the main thread; each write
 * conditional on the command's offset, src/store/controls.ts). `caughtUp()` resolves once every
 * command the log held when it was called is in the tables: the API awaits it after its command
 * was acknowledged, so a REST read after the 200 sees the change.
 */
import type { Sql } from "postgres";
import type { Broker } from "../src/config.ts";
import { ControlReader, sendControl, type AppliedControl, type ControlCommand } from "../src/control/index.ts";
import { isRetryable } from "../src/errors.ts";
import type { Log, Producer } from "../src/log/port.ts";
import type { Logger } from "../src/logger.ts";
import { parseLimits } from "../src/risk/index.ts";
import { controlSeeds, forgetControlOffsets, projectLimits, projectStrategy, projectTradingState } from "../src/store/controls.ts";
import { storeError } from "../src/store/errors.ts";
import { topicName } from "../src/topics.ts";

export interface ControlPlane {
  reader: ControlReader;
  /** Every command the log held when called is applied and projected. */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

/** How long a projection write that failed for want of the database waits before it is tried again. */
const RETRY_MS = 500;

/**
 * Seeds the brokers' empty control topics, then starts projecting them.
 *
 * @example
 * const controls = await startControlPlane({ log, producer, sql: store.sql, brokers: ["paper"], logger });
 */
export async function startControlPlane(d: { log: Log; producer: Producer; sql: Sql; brokers: readonly Broker[]; logger: Logger }): Promise<ControlPlane> {
  for (const b of d.brokers) await seedIfEmpty(d, b);
  let closed = false;
  const reader = new ControlReader(d.log, d.brokers, { name: "projector", logger: d.logger });
  reader.onCommand(async (c) => {
    // Held until written: caughtUp() must mean "in the tables". A database down is waited out;
    // a row the database refuses (it cannot happen for a command the API validated) is skipped loudly.
    for (;;) {
      try {
        return await project(d.sql, c);
      } catch (err) {
        const e = storeError(err, "projecting a control command");
        if (closed) return;
        if (!isRetryable(e)) {
          d.logger.error({ broker: c.broker, offset: c.offset, type: c.command.type, err: (err as Error).message }, "control command not projected: the database refused it");
          return;
        }
        await Bun.sleep(RETRY_MS);
      }
    }
  });
  await reader.start();
  await reader.caughtUp();
  return {
    reader,
    caughtUp: () => reader.caughtUp(),
    async close() {
      closed = true;
      await reader.close();
    },
  };
}

function project(sql: Sql, c: AppliedControl): Promise<void> {
  const cmd = c.command;
  switch (cmd.type) {
    case "control.trading_state":
      return projectTradingState(sql, c.broker, cmd.data.state, cmd.data.reason, c.offset, c.at);
    case "control.limits":
      return projectLimits(sql, c.broker, cmd.data.limits, c.offset, c.at);
    case "control.strategy":
      return projectStrategy(sql, c.broker, cmd.data, c.offset);
  }
}

/**
 * A broker whose control topic is empty (a new log; the first start of this version) gets the
 * tables' rows as commands: the migrations' seeds and whatever a user set before. Once: after it
 * the topic is not empty. Two gateways starting at once may both seed; they write the same rows.
 */
async function seedIfEmpty(d: { log: Log; producer: Producer; sql: Sql; logger: Logger }, broker: Broker): Promise<void> {
  const ends = await d.log.endOffsets(topicName("control", broker));
  if (ends.some((e) => e > 0)) return;
  await forgetControlOffsets(d.sql, broker);
  const seeds = await controlSeeds(d.sql, broker);
  const commands: ControlCommand[] = [];
  if (seeds.trading) commands.push({ type: "control.trading_state", data: { state: seeds.trading.state, reason: seeds.trading.reason ?? "" } });
  if (seeds.limits) {
    try {
      commands.push({ type: "control.limits", data: { limits: parseLimits(seeds.limits) } });
    } catch (err) {
      d.logger.error({ broker, err: (err as Error).message }, "stored risk limits are invalid: not seeded, the defaults apply");
    }
  }
  for (const s of seeds.strategies) commands.push({ type: "control.strategy", data: s });
  for (const cmd of commands) await sendControl(d.producer, broker, cmd, "gateway.seed");
  d.logger.info({ broker, commands: commands.length }, "control topic was empty: seeded from the tables");
}
