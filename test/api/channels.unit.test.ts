/**
 * The WebSocket channels (gateway/api/channels.ts): which events go to which channel, and which
 * channels a client may hold.
 */
import { describe, expect, test } from "bun:test";
import { channelsHelp, channelsOf, isChannel } from "../../gateway/api/channels.ts";
import { createEvent } from "../../src/events/envelope.ts";

const event = (type: string, broker: string, data: Record<string, unknown> = {}) =>
  createEvent({ type: type as never, source: "test", broker: broker as never, key: "738561", data: data as never });

describe("channelsOf", () => {
  test("a tick goes to its instrument's channel; a P&L snapshot, a signal and an order event to their broker's", () => {
    expect(channelsOf("market.ticks", event("market.tick", "shared", { instrument_token: 738561 }))).toEqual(["ticks.738561"]);
    expect(channelsOf("paper.pnl.snapshots", event("pnl.snapshot", "paper"))).toEqual(["portfolio.paper"]);
    expect(channelsOf("zerodha.signals.validated", event("signal.validated", "zerodha"))).toEqual(["signals.zerodha"]);
    expect(channelsOf("paper.orders.filled", event("order.filled", "paper"))).toEqual(["orders.paper"]);
  });

  test("an order command, and anything else of the shared namespace, goes nowhere", () => {
    expect(channelsOf("paper.order.commands", event("order.cancel", "paper"))).toEqual([]);
    expect(channelsOf("shared.anything", event("signal.generated", "shared"))).toEqual([]);
  });
});

describe("isChannel", () => {
  const here = { activeBrokers: ["paper"] as const, knownInstrument: (token: number) => token === 738561 };

  test("an active broker's channels and a known instrument's ticks", () => {
    for (const channel of ["orders.paper", "portfolio.paper", "signals.paper", "ticks.738561"]) expect(isChannel(channel, here)).toBe(true);
  });

  test("not another broker's, an unknown instrument's, or anything else", () => {
    for (const channel of ["orders.zerodha", "ticks.42", "ticks.0738561", "news.paper", "orders.paper.x", "ticks.", ""]) expect(isChannel(channel, here)).toBe(false);
  });

  test("the help names every kind and the active brokers", () => {
    expect(channelsHelp(["paper", "zerodha"])).toBe("orders.<broker>, portfolio.<broker>, signals.<broker> (broker: paper, zerodha) or ticks.<instrument_token>");
  });
});
