/**
 * The Kafka client patches install only on the client versions they were written for: another
 * version fails at start, naming what is installed and what the patches expect.
 */
import { expect, test } from "bun:test";
import { checkPatchedVersions, installedVersion, PATCHED_FOR } from "../../src/log/kafka-patched-version.ts";
import { KafkaLog } from "../../src/log/kafka.ts";

test("the installed client is the one the patches were written for, and KafkaLog starts on it", () => {
  expect(installedVersion("@platformatic/kafka")).toBe(PATCHED_FOR["@platformatic/kafka"]);
  expect(installedVersion("@platformatic/dynamic-buffer")).toBe(PATCHED_FOR["@platformatic/dynamic-buffer"]);
  expect(() => checkPatchedVersions()).not.toThrow();
  expect(() => new KafkaLog({ brokers: ["127.0.0.1:1"] })).not.toThrow();
});

test("another client version is refused with both versions named", () => {
  const newer = (name: keyof typeof PATCHED_FOR) => (name === "@platformatic/kafka" ? "2.13.0" : PATCHED_FOR[name]);
  expect(() => checkPatchedVersions(newer)).toThrow(`@platformatic/kafka 2.13.0 is installed, the patches were written for ${PATCHED_FOR["@platformatic/kafka"]}`);
  const both = (name: keyof typeof PATCHED_FOR) => (name === "@platformatic/kafka" ? "3.0.0" : "0.4.0");
  const err = (() => {
    try {
      checkPatchedVersions(both);
    } catch (e) {
      return e as Error;
    }
  })();
  expect(err?.message).toContain("@platformatic/kafka 3.0.0 is installed");
  expect(err?.message).toContain("@platformatic/dynamic-buffer 0.4.0 is installed, the patches were written for 0.3.1");
});
