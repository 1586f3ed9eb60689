/**
 * The desk as the gateway serves it (in-process, no socket): GET / and its three assets, all from
 * this origin (nothing in them names another host), the CSP that says so to the browser, ETag
 * revalidation; and GET /api/v1/whoami, which the page asks for the key's scope.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { harness, type Harness } from "../api/support.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

const get = (path: string, headers: Record<string, string> = {}) => h.app.request(path, { headers });

/** URLs a page would load: src/href attributes, CSS url(), and JS import/fetch of an absolute URL. */
function externalUrls(text: string): string[] {
  const found = [...text.matchAll(/(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)|(?:import|fetch)\s*\(\s*["'`]([^"'`]+)|@import\s+["']([^"']+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4] ?? "");
  return found.filter((u) => /^(?:[a-z]+:)?\/\//i.test(u) && !u.startsWith("data:"));
}

describe("GET / and /desk/*", () => {
  test("one HTML page that loads one script, one stylesheet and an icon, all from /desk/", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await res.text();
    const loads = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(loads.sort()).toEqual(["/desk/desk.css", "/desk/desk.js", "/desk/favicon.svg"]);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:/);
  });

  test("the assets are served with their types, and none names another host", async () => {
    for (const [path, type] of [
      ["/desk/desk.js", "text/javascript; charset=utf-8"],
      ["/desk/desk.css", "text/css; charset=utf-8"],
      ["/desk/favicon.svg", "image/svg+xml"],
    ] as const) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(type);
      const text = await res.text();
      expect(text.length).toBeGreaterThan(100);
      expect(externalUrls(text)).toEqual([]);
    }
    // uPlot is in the bundle, its stylesheet in ours.
    expect(await (await get("/desk/desk.css")).text()).toContain(".uplot");
  });

  test("the detector would see an external load", () => {
    expect(externalUrls(`<script src="https://cdn.example/x.js"></script> url(//fonts.example/a.woff) fetch("http://x/y")`)).toEqual(["https://cdn.example/x.js", "//fonts.example/a.woff", "http://x/y"]);
  });

  test("an unchanged asset is revalidated with its ETag (304)", async () => {
    const first = await get("/desk/desk.js");
    const etag = first.headers.get("etag")!;
    expect(first.headers.get("cache-control")).toBe("no-cache");
    const again = await get("/desk/desk.js", { "if-none-match": etag });
    expect(again.status).toBe(304);
  });

  test("other methods are 405 and unknown assets 404, in our error shape", async () => {
    const post = await h.app.request("/", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const missing = await get("/desk/nope.js");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });
});

describe("GET /api/v1/whoami", () => {
  test("answers the scopes of the key sent", async () => {
    expect((await h.call("GET", "/api/v1/whoami", { key: h.readKey })).json).toEqual({ scopes: ["read"] });
    expect((await h.call("GET", "/api/v1/whoami", { key: h.tradeKey })).json).toEqual({ scopes: ["trade"] });
  });

  test("without a key or with an unknown one: 401", async () => {
    expect((await h.call("GET", "/api/v1/whoami", { key: null })).status).toBe(401);
    expect((await h.call("GET", "/api/v1/whoami", { key: "ap_unknown_key_0123456789" })).status).toBe(401);
  });

  test("is in the OpenAPI document with its schema", () => {
    const op = (h.openapi.paths as Record<string, Record<string, any>>)["/api/v1/whoami"]!.get;
    expect(op.responses["200"].content["application/json"].schema.properties.scopes.items.enum).toEqual(["read", "trade"]);
  });
});
