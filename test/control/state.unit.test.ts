/**
 * The control fold, Given/When/Then with no infrastructure: what a broker's controls are after a
 * run of commands, and which strategy signals risk refuses under them.
 */
import { describe, expect, test } from "bun:test";
import { controlKey, evolveControl, initialControlState, strategyVerdict, type ControlCommand, type ControlState, type StrategyDef } from "../../src/control/index.ts";
import { DEFAULT_LIMITS, parseLimits } from "../../src/risk/index.ts";

const T0 = Date.parse("2026-12-07T04:00:00.000Z");
const halt: ControlCommand = { type: "control.trading_state", data: { state: "HALTED", reason: "kill switch" } };
const activate: ControlCommand = { type: "control.trading_state", data: { state: "ACTIVE", reason: "" } };
const limits = (over: Record<string, number>): ControlCommand => ({ type: "control.limits", data: { limits: parseLimits(over) } });
const momo = (over: Partial<StrategyDef> = {}): StrategyDef => ({ id: "momo", kind: "momentum", params: { lookback: 20 }, instruments: [738561], brokers: ["paper"], enabled: true, ...over });
const strategy = (def: StrategyDef): ControlCommand => ({ type: "control.strategy", data: def });

/** Given these commands at offsets 0, 1, …, a second apart. */
const given = (...cmds: ControlCommand[]): ControlState => cmds.reduce((s, c, i) => evolveControl(s, c, i, T0 + i * 1_000), initialControlState());

describe("control fold", () => {
  test("given no command, trading is ACTIVE under the default limits with no strategies", () => {
    const s = given();
    expect(s.trading).toEqual({ state: "ACTIVE", reason: null, since: null, offset: null });
    expect(s.limits).toEqual({ limits: DEFAULT_LIMITS, offset: null });
    expect(s.strategies).toEqual({});
  });

  test("given HALTED, when ACTIVE follows, then trading is ACTIVE since the second command", () => {
    const halted = given(halt);
    expect(halted.trading).toEqual({ state: "HALTED", reason: "kill switch", since: T0, offset: 0 });
    const active = given(halt, activate);
    expect(active.trading).toEqual({ state: "ACTIVE", reason: "", since: T0 + 1_000, offset: 1 });
  });

  test("given HALTED, when HALTED is set again, then it is HALTED since the first (the reason is the latest)", () => {
    const s = given(halt, { type: "control.trading_state", data: { state: "HALTED", reason: "still" } });
    expect(s.trading).toEqual({ state: "HALTED", reason: "still", since: T0, offset: 1 });
  });

  test("given limits, when a later limits command comes, then it replaces them whole", () => {
    const s = given(limits({ max_order_quantity: 1 }), limits({ max_order_quantity: 50 }));
    expect(s.limits).toEqual({ limits: { ...DEFAULT_LIMITS, max_order_quantity: 50 }, offset: 1 });
  });

  test("a command older than the state's (a re-read) changes nothing", () => {
    const s = given(limits({ max_order_quantity: 1 }), limits({ max_order_quantity: 50 }));
    expect(evolveControl(s, limits({ max_order_quantity: 7 }), 0, T0)).toBe(s);
    expect(evolveControl(s, halt, 1, T0)).not.toBe(s); // another key: applies
  });

  test("strategies are kept by id with the offset of their definition", () => {
    const s = given(strategy(momo()), halt, strategy(momo({ id: "other" })), strategy(momo({ params: { lookback: 30 } })));
    expect(Object.keys(s.strategies).sort()).toEqual(["momo", "other"]);
    expect(s.strategies.momo).toEqual({ def: momo({ params: { lookback: 30 } }), offset: 3 });
    expect(s.strategies.other!.offset).toBe(2);
  });

  test("each command is keyed by what it sets", () => {
    expect([controlKey(halt), controlKey(limits({})), controlKey(strategy(momo()))]).toEqual(["trading_state", "limits", "strategy:momo"]);
  });
});

describe("strategy verdicts", () => {
  test("given the definition a signal was generated under, then it may be judged", () => {
    expect(strategyVerdict(given(strategy(momo())), "paper", "momo", 0)).toBeUndefined();
  });

  test("given a strategy disabled after, then its signal is refused STRATEGY_DISABLED", () => {
    const v = strategyVerdict(given(strategy(momo()), strategy(momo({ enabled: false }))), "paper", "momo", 0);
    expect(v?.reason_code).toBe("STRATEGY_DISABLED");
  });

  test("given a strategy moved to another broker, then its signal for the old one is refused STRATEGY_DISABLED", () => {
    const v = strategyVerdict(given(strategy(momo()), strategy(momo({ brokers: ["zerodha"] }))), "paper", "momo", 0);
    expect(v).toEqual({ reason_code: "STRATEGY_DISABLED", message: "strategy momo no longer trades paper" });
  });

  test("given a strategy changed after, then a signal from the older definition is refused STRATEGY_CHANGED, and one from the new passes", () => {
    const s = given(strategy(momo()), strategy(momo({ params: { lookback: 5 } })));
    expect(strategyVerdict(s, "paper", "momo", 0)?.reason_code).toBe("STRATEGY_CHANGED");
    expect(strategyVerdict(s, "paper", "momo", 1)).toBeUndefined();
  });

  test("given no such strategy, then its signal is refused STRATEGY_DISABLED", () => {
    expect(strategyVerdict(given(), "paper", "ghost", 0)?.reason_code).toBe("STRATEGY_DISABLED");
  });
});
