import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, modeOf, redactedConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
};

describe("config", () => {
  test("no settings: the embedded defaults", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.activeBrokers).toEqual(["paper"]);
    expect(c.feed.kind).toBe("simulated");
    expect(c.kafka).toBeUndefined();
    expect(modeOf(c)).toBe("embedded");
  });

  test("zerodha without its Kite credentials stops the start, naming each one missing", () => {
    const err = problemsOf({ ACTIVE_BROKERS: "paper,zerodha", KITE_API_KEY: "abc" });
    expect(err.problems.map((p) => p.path).sort()).toEqual(["KITE_API_SECRET"]);
    expect(err.message).toContain("ACTIVE_BROKERS includes zerodha");
    expect(problemsOf({ FEED: "kite" }).problems.map((p) => p.path).sort()).toEqual(["KITE_API_KEY", "KITE_API_SECRET"]);
  });

  test("with its credentials zerodha is configured, and the secrets never reach a log", () => {
    const c = loadConfig({ ACTIVE_BROKERS: "zerodha", KITE_API_KEY: "key1", KITE_API_SECRET: "s3cr3t-kite", KITE_ACCESS_TOKEN: "t0ken-kite", KITE_BASE_URL: "http://127.0.0.1:9999" });
    expect(c.kite).toMatchObject({ apiKey: "key1", baseUrl: "http://127.0.0.1:9999", tickerUrl: "wss://ws.kite.trade", tickerMode: "full", ordersPerSecond: 10, ordersPerMinute: 200 });
    const text = JSON.stringify(redactedConfig(c));
    expect(text).not.toContain("s3cr3t-kite");
    expect(text).not.toContain("t0ken-kite");
  });

  test("the real services", () => {
    const c = loadConfig({
      KAFKA_BROKERS: "127.0.0.1:19092, kafka-2:9092",
      REDIS_URL: "redis://127.0.0.1:16379",
      DATABASE_URL: "postgres://alpha:alpha@127.0.0.1:15432/alpha",
      ACTIVE_BROKERS: "paper,zerodha",
      KITE_API_KEY: "k",
      KITE_API_SECRET: "s",
      KITE_ACCESS_TOKEN: "t",
    });
    expect(c.kafka?.brokers).toEqual(["127.0.0.1:19092", "kafka-2:9092"]);
    expect(c.activeBrokers).toEqual(["paper", "zerodha"]);
    expect(modeOf(c)).toBe("distributed");
  });

  test("an unknown broker is named", () => {
    const err = problemsOf({ ACTIVE_BROKERS: "paper,foo" });
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain("ACTIVE_BROKERS");
    expect(err.message).toContain('"foo"');
  });

  test("a port that is not a number is named", () => {
    const err = problemsOf({ PORT: "notaport" });
    expect(err.message).toContain('PORT: must be a port number (an integer from 0 to 65535), got "notaport"');
  });

  test("every problem in one message, passwords masked", () => {
    const err = problemsOf({
      PORT: "70000",
      ACTIVE_BROKERS: "paper,foo",
      DATABASE_URL: "mysql://root:hunter2@db/x",
      REDIS_URL: "not a url",
      KAFKA_BROKERS: "localhost",
      FEED: "replay",
      LOG_LEVEL: "loud",
    });
    const paths = err.problems.map((p) => p.path).sort();
    expect(paths).toEqual(["ACTIVE_BROKERS", "DATABASE_URL", "KAFKA_BROKERS", "LOG_LEVEL", "PORT", "REDIS_URL", "REPLAY_FILE"]);
    expect(err.message).not.toContain("hunter2");
    expect(err.message).toContain("mysql://root:***@db/x");
  });

  test("a malformed DATABASE_URL is named without its password", () => {
    const err = problemsOf({ DATABASE_URL: "postgres://u:s3cret@" });
    expect(err.message).toContain("DATABASE_URL");
    expect(err.message).not.toContain("s3cret");
  });

  test("redactedConfig hides passwords and the bootstrap API key", () => {
    const c = loadConfig({ DATABASE_URL: "postgres://alpha:topsecret@h:5432/db", REDIS_URL: "redis://:pw@h:6379", BOOTSTRAP_API_KEY: "ap_verysecretkey123456" });
    expect(c.bootstrapApiKey).toBe("ap_verysecretkey123456");
    const text = JSON.stringify(redactedConfig(c));
    expect(text).not.toContain("topsecret");
    expect(text).not.toContain(":pw@");
    expect(text).not.toContain("verysecret");
  });

  test("a short bootstrap key is refused without echoing it", () => {
    const err = problemsOf({ BOOTSTRAP_API_KEY: "short1" });
    expect(err.message).toContain("BOOTSTRAP_API_KEY");
    expect(err.message).not.toContain("short1");
  });

  test("fail-over defaults: a 6 s Kafka session with 1 s heartbeats, and a 10 s stage handler timeout", () => {
    const c = loadConfig({ KAFKA_BROKERS: "127.0.0.1:19092" });
    expect(c.kafka).toMatchObject({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 });
    expect(c.stageHandlerTimeoutMs).toBe(10_000);
    expect(loadConfig({}).stageHandlerTimeoutMs).toBe(10_000);
    const set = loadConfig({ KAFKA_BROKERS: "127.0.0.1:19092", KAFKA_SESSION_TIMEOUT_MS: "9000", KAFKA_HEARTBEAT_INTERVAL_MS: "3000", STAGE_HANDLER_TIMEOUT_MS: "2500" });
    expect(set.kafka).toMatchObject({ sessionTimeoutMs: 9_000, heartbeatIntervalMs: 3_000 });
    expect(set.stageHandlerTimeoutMs).toBe(2_500);
  });

  test("a heartbeat over a third of the session, and a handler timeout out of range, are named together", () => {
    const err = problemsOf({ KAFKA_SESSION_TIMEOUT_MS: "6000", KAFKA_HEARTBEAT_INTERVAL_MS: "2500", STAGE_HANDLER_TIMEOUT_MS: "50" });
    expect(err.problems.map((p) => p.path).sort()).toEqual(["KAFKA_HEARTBEAT_INTERVAL_MS", "STAGE_HANDLER_TIMEOUT_MS"]);
    expect(problemsOf({ KAFKA_SESSION_TIMEOUT_MS: "6000", KAFKA_HEARTBEAT_INTERVAL_MS: "2500" }).message).toContain(
      "KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS (6000), got 2500",
    );
    expect(problemsOf({ STAGE_HANDLER_TIMEOUT_MS: "ten seconds" }).message).toContain('STAGE_HANDLER_TIMEOUT_MS: must be a timeout in ms (an integer from 100 to 600000), got "ten seconds"');
    expect(() => loadConfig({ KAFKA_SESSION_TIMEOUT_MS: "6000", KAFKA_HEARTBEAT_INTERVAL_MS: "2000" })).not.toThrow();
  });

  test("DATA_DIR: the embedded database's folder, ./.alpha-panda by default, made absolute; \"memory\" keeps it in memory", () => {
    expect(loadConfig({}).dataDir).toBe(join(process.cwd(), ".alpha-panda"));
    expect(loadConfig({ DATA_DIR: "" }).dataDir).toBe(join(process.cwd(), ".alpha-panda"));
    expect(loadConfig({ DATA_DIR: "data/db" }).dataDir).toBe(join(process.cwd(), "data/db"));
    expect(loadConfig({ DATA_DIR: "/srv/alpha" }).dataDir).toBe("/srv/alpha");
    expect(loadConfig({ DATA_DIR: "memory" }).dataDir).toBeUndefined();
    expect(loadConfig({ DATA_DIR: " Memory " }).dataDir).toBeUndefined();
    expect(problemsOf({ DATA_DIR: "a\0b", PORT: "x" }).problems.map((p) => p.path).sort()).toEqual(["DATA_DIR", "PORT"]);
  });

  test("RECORD_FILE: opened for appending at start; a missing folder or an unopenable file is a config error with the others", () => {
    const dir = mkdtempSync(join(tmpdir(), "alpha-config-"));
    try {
      const file = join(dir, "today.jsonl");
      expect(loadConfig({ RECORD_FILE: file }).recordFile).toBe(file);
      expect(existsSync(file)).toBe(true);
      expect(loadConfig({}).recordFile).toBeUndefined();
      expect(loadConfig({ RECORD_FILE: " " }).recordFile).toBeUndefined();

      const missing = problemsOf({ RECORD_FILE: join(dir, "no-such-folder", "today.jsonl"), PORT: "x" });
      expect(missing.problems.map((p) => p.path).sort()).toEqual(["PORT", "RECORD_FILE"]);
      expect(missing.message).toContain(`${JSON.stringify(join(dir, "no-such-folder"))} does not exist`);

      const folder = problemsOf({ RECORD_FILE: dir });
      expect(folder.problems.map((p) => p.path)).toEqual(["RECORD_FILE"]);
      expect(folder.message).toContain("cannot be opened for appending (EISDIR)");

      const same = problemsOf({ FEED: "replay", REPLAY_FILE: file, RECORD_FILE: file });
      expect(same.problems.map((p) => p.path)).toEqual(["RECORD_FILE"]);
      expect(same.message).toContain("must not be REPLAY_FILE");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("MARKET_HOURS: off with the simulated feed, nse whenever zerodha or the Kite feed is involved; MIS square-off at 15:20 IST", () => {
    expect(loadConfig({}).marketHours).toBe("off");
    expect(loadConfig({ MARKET_HOURS: "NSE" }).marketHours).toBe("nse");
    expect(loadConfig({ ACTIVE_BROKERS: "paper,zerodha", KITE_API_KEY: "k", KITE_API_SECRET: "s" }).marketHours).toBe("nse");
    expect(loadConfig({ FEED: "kite", KITE_API_KEY: "k", KITE_API_SECRET: "s", MARKET_HOURS: "off" }).marketHours).toBe("off");
    expect(loadConfig({}).misSquareOffMinute).toBe(15 * 60 + 20);
    expect(loadConfig({ MIS_SQUARE_OFF_AT: "15:05" }).misSquareOffMinute).toBe(15 * 60 + 5);
    const bad = problemsOf({ MARKET_HOURS: "always", MIS_SQUARE_OFF_AT: "3pm" });
    expect(bad.problems.map((p) => p.path).sort()).toEqual(["MARKET_HOURS", "MIS_SQUARE_OFF_AT"]);
    expect(bad.message).toContain("must be one of nse, off");
    expect(bad.message).toContain("HH:MM");
  });
});
