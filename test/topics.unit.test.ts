import { expect, test } from "bun:test";
import { allTopics, brokerOfTopic, topicName, topicSpecs } from "../src/topics.ts";

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
