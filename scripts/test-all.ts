/**
 * `bun run test:all`: the whole suite against the real services, as CI runs it.
 *
 * 1. `bun run infra:up` (Kafka, PostgreSQL, Redis on loopback; installs what is missing);
 * 2. `bun test` over test/ with REQUIRE_INFRA=1, so an integration test whose service is missing
 *    fails instead of skipping;
 * 3. `bun run infra:down`, even when tests fail, unless the services were already running before
 *    (then they are yours, and stay up);
 * 4. one closing line, from bun test's own counts: `N passed, N failed`.
 *
 * Extra arguments go to `bun test` (e.g. `bun run test:all test/log`).
 */
import { LOCAL } from "./local-infra.ts";

const bun = process.execPath;
const root = new URL("..", import.meta.url).pathname;

async function sh(cmd: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const proc = Bun.spawn(cmd, { cwd: root, env, stdout: "inherit", stderr: "inherit", stdin: "ignore" });
  return proc.exited;
}

const alreadyUp = (await Bun.spawn([bun, "scripts/infra.ts", "status"], { cwd: root, stdout: "ignore", stderr: "ignore" }).exited) === 0;
if ((await sh([bun, "scripts/infra.ts", "up"])) !== 0) {
  console.error("test:all: infra:up failed; see the messages above");
  if (!alreadyUp) await sh([bun, "scripts/infra.ts", "down"]);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

let code = 1;
let passed = 0;
let failed = 0;
try {
  const env = {
    ...process.env,
    REQUIRE_INFRA: "1",
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? LOCAL.kafkaBrokers,
    REDIS_URL: process.env.REDIS_URL ?? LOCAL.redisUrl,
    DATABASE_URL: process.env.DATABASE_URL ?? LOCAL.databaseUrl,
  };
  const proc = Bun.spawn([bun, "test", "--timeout", "60000", ...process.argv.slice(2)], {
    cwd: root,
    env,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  // bun test prints its summary (" 12 pass", " 0 fail") on stderr; echo both streams as they come.
  const tail: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      out.write(text);
      tail.push(text);
      if (tail.length > 200) tail.shift();
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  code = await proc.exited;
  const summary = tail.join("");
  passed = Number(/^\s*(\d+) pass\s*$/m.exec(summary)?.[1] ?? 0);
  failed = Number(/^\s*(\d+) fail\s*$/m.exec(summary)?.[1] ?? 0);
  const errors = Number(/^\s*(\d+) errors?\s*$/m.exec(summary)?.[1] ?? 0);
  // A file that fails to load is reported by bun as an error, not a failed test: count it as one.
  failed += errors;
  if (code !== 0 && failed === 0) failed = 1;
} finally {
  if (!alreadyUp) await sh([bun, "scripts/infra.ts", "down"]);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
