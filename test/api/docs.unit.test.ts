/**
 * GET /docs: the reference page of /openapi.json, served whole by the gateway. Every file the
 * page names is a path on the gateway that answers, and a Content-Security-Policy of 'self' keeps
 * the browser from loading anything from another host (test/api/docs.e2e.test.ts watches a real
 * browser do it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DOCS_CSP } from "../../gateway/api/docs.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

/** The src and href attributes of an HTML page. */
const references = (html: string) => [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);

describe("GET /docs", () => {
  test("is an HTML page, without a key, that loads only files the gateway serves", async () => {
    const res = await h.app.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toBe(DOCS_CSP);
    const html = await res.text();
    const refs = references(html);
    expect(refs.length).toBe(4);
    for (const ref of refs) {
      // Same origin: a path, never a scheme or a protocol-relative //host.
      expect(ref).toMatch(/^\/docs\/[\w.-]+$/);
      const asset = await h.app.request(ref);
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    expect(html).not.toMatch(/https?:\/\//);
  });

  test("the page's own script reads /openapi.json and asks no validator on another host", async () => {
    const init = await (await h.app.request("/docs/init.js")).text();
    expect(init).toContain('url: "/openapi.json"');
    expect(init).toContain("validatorUrl: null");
    expect(init).not.toMatch(/https?:\/\//);
  });

  test("scripts and styles have their types and no source map comment pointing at a file not served", async () => {
    const js = await h.app.request("/docs/swagger-ui-bundle.js");
    expect(js.headers.get("content-type")).toContain("text/javascript");
    const css = await h.app.request("/docs/swagger-ui.css");
    expect(css.headers.get("content-type")).toContain("text/css");
    for (const body of [await js.text(), await css.text()]) expect(body).not.toContain("sourceMappingURL");
  });

  test("the CSP allows this origin only", () => {
    for (const directive of DOCS_CSP.split("; ")) expect(directive).not.toMatch(/https?:|\*/);
    expect(DOCS_CSP).toContain("default-src 'none'");
    expect(DOCS_CSP).toContain("connect-src 'self'");
  });

  test("other methods are a 405 naming GET; /docs/ redirects to /docs; an unknown file is a 404", async () => {
    const post = await h.call("POST", "/docs", { key: null, body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(post.json.error.code).toBe("METHOD_NOT_ALLOWED");
    const slash = await h.app.request("/docs/");
    expect(slash.status).toBe(301);
    expect(slash.headers.get("location")).toBe("/docs");
    expect((await h.call("GET", "/docs/nothing.js", { key: null })).status).toBe(404);
  });

  test("is listed in /openapi.json as a public page", async () => {
    const doc = (await h.call("GET", "/openapi.json", { key: null })).json;
    expect(doc.paths["/docs"].get.security).toEqual([]);
    expect(Object.keys(doc.paths["/docs"].get.responses["200"].content)).toEqual(["text/html"]);
  });
});
