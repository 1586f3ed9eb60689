import { expect, test } from "bun:test";
import { MemoryCache } from "../src/cache/memory.ts";
import type { Cache } from "../src/cache/port.ts";
import { AlphaError } from "../src/errors.ts";
import { rpcClient, serveRpc } from "../src/rpc.ts";

test("calls cross a MessageChannel with their results and their error codes", async () => {
  const { port1, port2 } = new MessageChannel();
  const target = new MemoryCache();
  const stop = serveRpc(target, port1, ["get", "set", "incrby"]);
  const remote = rpcClient<Cache>(port2);
  await remote.set("paper:x", "₹ 1");
  expect(await remote.get("paper:x")).toBe("₹ 1");
  expect(await target.get("paper:x")).toBe("₹ 1");
  const results = await Promise.all(Array.from({ length: 100 }, () => remote.incrby("n", 1)));
  expect(Math.max(...results)).toBe(100);
  const err = await remote.hgetall("k").catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AlphaError);
  expect((err as AlphaError).message).toContain("hgetall is not served");
  const wrongType = await remote.incrby("paper:x", 1).catch((e: unknown) => e);
  expect((wrongType as AlphaError).code).toBe("CACHE_WRONG_TYPE");
  stop();
  port1.close();
  port2.close();
});
