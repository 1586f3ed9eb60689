/**
 * GET /docs: an interactive reference of /openapi.json (Swagger UI, from the swagger-ui-dist npm
 * package). Its script and stylesheet are read from node_modules once and served by the gateway,
 * and a Content-Security-Policy of 'self' tells the browser to load nothing from another host.
 * Public, like /openapi.json.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Hono } from "hono";
import { onlyGet } from "../app.ts";

export const DOCS_PATH = "/docs";

interface Asset {
  body: string | Uint8Array;
  type: string;
}

/** Every request the page makes goes to this origin: scripts, styles, the spec, "Try it out". */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes on its elements.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Alpha Panda API</title>
<link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

// validatorUrl: null, or Swagger UI asks validator.swagger.io to badge the document.
const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#docs",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
  persistAuthorization: false,
});
`;

/** A source map comment would send open devtools after a file we do not serve. */
const withoutSourceMap = (text: string) => text.replace(/\n?\/[/*]# sourceMappingURL=[^\n]*\s*$/, "\n");

let assets: Map<string, Asset> | undefined;

/** The page's files, read from swagger-ui-dist once per process. */
function docsAssets(): Map<string, Asset> {
  if (assets) return assets;
  const dist = dirname(Bun.resolveSync("swagger-ui-dist/package.json", import.meta.dir));
  const text = (name: string) => withoutSourceMap(readFileSync(join(dist, name), "utf8"));
  assets = new Map<string, Asset>([
    [DOCS_PATH, { body: HTML, type: "text/html; charset=utf-8" }],
    [`${DOCS_PATH}/init.js`, { body: INIT, type: "text/javascript; charset=utf-8" }],
    [`${DOCS_PATH}/swagger-ui-bundle.js`, { body: text("swagger-ui-bundle.js"), type: "text/javascript; charset=utf-8" }],
    [`${DOCS_PATH}/swagger-ui.css`, { body: text("swagger-ui.css"), type: "text/css; charset=utf-8" }],
    [`${DOCS_PATH}/favicon-32x32.png`, { body: new Uint8Array(readFileSync(join(dist, "favicon-32x32.png"))), type: "image/png" }],
  ]);
  return assets;
}

/**
 * Serves the docs page and its files on `app` (GET only; no key needed).
 *
 * @example
 * mountDocs(app); // GET /docs
 */
export function mountDocs(app: Hono): void {
  for (const [path, asset] of docsAssets()) {
    // The page may change with the gateway; the libraries only with an upgrade of the package.
    const cache = path === DOCS_PATH || path.endsWith("/init.js") ? "no-cache" : "public, max-age=3600";
    app.get(path, (c) => c.body(asset.body as string, 200, { "content-type": asset.type, "cache-control": cache, "content-security-policy": DOCS_CSP, "x-content-type-options": "nosniff" }));
    onlyGet(app, path);
  }
  app.get(`${DOCS_PATH}/`, (c) => c.redirect(DOCS_PATH, 301));
}
