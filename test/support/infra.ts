/**
 * Integration tests talk to the real Kafka, Redis and PostgreSQL. Where they are is read from
 * KAFKA_BROKERS / REDIS_URL / DATABASE_URL, defaulting to what `bun run infra:up` starts.
 *
 * `needs(service)` answers whether an integration suite can run. When the service does not answer
 * and REQUIRE_INFRA=1 (CI sets it) it registers a failing test naming the service and address, so
 * a missing service is a red run, never a quiet skip. Without REQUIRE_INFRA the suite is skipped
 * with a printed reason, so `bun test` still works on a laptop with nothing running.
 */
import { test } from "bun:test";
import { LOCAL } from "../../scripts/local-infra.ts";

export type Service = "kafka" | "redis" | "postgres";

export const requireInfra = process.env.REQUIRE_INFRA === "1";

export const infra = {
  kafkaBrokers: process.env.KAFKA_BROKERS ?? LOCAL.kafkaBrokers,
  redisUrl: process.env.REDIS_URL ?? LOCAL.redisUrl,
  databaseUrl: process.env.DATABASE_URL ?? LOCAL.databaseUrl,
};

function address(service: Service): { host: string; port: number } {
  if (service === "kafka") {
    const first = infra.kafkaBrokers.split(",")[0]!.trim();
    const i = first.lastIndexOf(":");
    return { host: first.slice(0, i), port: Number(first.slice(i + 1)) };
  }
  const url = new URL(service === "redis" ? infra.redisUrl : infra.databaseUrl);
  return { host: url.hostname, port: Number(url.port || (service === "redis" ? 6379 : 5432)) };
}

async function answers(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(socket) {
          clearTimeout(timer);
          socket.end();
          resolve(true);
        },
        data() {},
        error() {
          clearTimeout(timer);
          resolve(false);
        },
        connectError() {
          clearTimeout(timer);
          resolve(false);
        },
      },
    }).catch(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

const cache = new Map<Service, Promise<boolean>>();

/**
 * @example
 * const kafkaUp = await needs("kafka");
 * describe.skipIf(!kafkaUp)("log conformance: kafka", () => { ... });
 */
export async function needs(service: Service): Promise<boolean> {
  const { host, port } = address(service);
  let probe = cache.get(service);
  if (!probe) {
    probe = answers(host, port);
    cache.set(service, probe);
  }
  const ok = await probe;
  if (!ok && requireInfra) {
    test(`${service} answers at ${host}:${port} (REQUIRE_INFRA=1)`, () => {
      throw new Error(`${service} is not reachable at ${host}:${port}; start it with \`bun run infra:up\``);
    });
  } else if (!ok) {
    console.warn(`skipping ${service} tests: nothing answers at ${host}:${port} (run \`bun run infra:up\`, or set REQUIRE_INFRA=1 to fail instead)`);
  }
  return ok;
}
