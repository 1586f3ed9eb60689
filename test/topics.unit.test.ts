import { expect, test } from "bun:test";
import { EVENT_TYPES } from "../src/events/payloads.ts";
import { allTopics, brokerOfTopic, eventTypesOf, TOPIC_TABLE, topicCarrying, topicIdOf, topicName, topicSpecs } from "../src/topics.ts";

test("shared topics once, broker topics per namespace, every topic with its DLQ", () => {
  const names = topicSpecs(["paper", "zerodha"]).map((t) => t.name);
  expect(names.filter((n) => n === "market.ticks")).toHaveLength(1);
  expect(names).toContain("paper.signals.raw");
  expect(names).toContain("zerodha.signals.raw");
  for (const row of allTopics(["paper", "zerodha"])) expect(names).toContain(`${row.name}.dlq`);
  expect(new Set(names).size).toBe(names.length);
});

test("namespaces never mix", () => {
  const paper = allTopics(["paper"]).map((t) => t.name);
  expect(paper.some((n) => n.startsWith("zerodha."))).toBe(false);
  expect(brokerOfTopic(topicName("ordersFilled", "zerodha"))).toBe("zerodha");
  expect(brokerOfTopic("market.ticks")).toBe("shared");
  expect(() => topicName("signalsRaw")).toThrow("per broker");
});

test("every topic declares the event types it carries: real event types, each on one topic", () => {
  for (const [id, def] of Object.entries(TOPIC_TABLE)) {
    expect(def.carries.length, id).toBeGreaterThan(0);
    for (const t of def.carries) expect(EVENT_TYPES, `${id} carries ${t}`).toContain(t);
  }
  // Each type has one home: a producer never has to choose.
  const homes = Object.values(TOPIC_TABLE).flatMap((d) => d.carries);
  expect(new Set(homes).size).toBe(homes.length);
  expect(eventTypesOf("market.ticks")).toEqual(new Set(["market.tick"]));
  expect(eventTypesOf("zerodha.orders.rejected")).toEqual(new Set(["order.rejected", "order.cancel_rejected", "order.modify_rejected"]));
  expect(eventTypesOf("paper.orders.filled.dlq")).toBeUndefined();
  expect(eventTypesOf("test.something")).toBeUndefined();
  expect(topicIdOf("paper.signals.validated")).toBe("signalsValidated");
  expect(topicIdOf("shared.signals.validated")).toBeUndefined();
  for (const row of allTopics(["paper"])) expect(row.carries).toEqual(TOPIC_TABLE[row.id].carries);
});

test("a producer finds the topic of an event by its type, from the table", () => {
  expect(topicName(topicCarrying("order.cancel_rejected"), "paper")).toBe("paper.orders.rejected");
  expect(topicName(topicCarrying("order.filled"), "zerodha")).toBe("zerodha.orders.filled");
  expect(topicCarrying("market.tick")).toBe("marketTicks");
  for (const [id, def] of Object.entries(TOPIC_TABLE)) for (const type of def.carries) expect(topicCarrying(type)).toBe(id as keyof typeof TOPIC_TABLE);
  const uncarried = EVENT_TYPES.filter((type) => !Object.values(TOPIC_TABLE).some((d) => (d.carries as readonly string[]).includes(type)));
  for (const type of uncarried) expect(() => topicCarrying(type)).toThrow(`no topic carries ${type}`);
});
