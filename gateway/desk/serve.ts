/**
 * The trader's desk: `GET /` is its one HTML page, `/desk/desk.js` and `/desk/desk.css` its one
 * script and one stylesheet, `/desk/favicon.svg` its icon. The script is bundled by Bun from
 * gateway/desk/app/main.ts (with uPlot) on the first request and kept in memory: no build step to
 * forget, no committed output to go stale, and a gateway that never serves the desk never pays.
 * Nothing comes from another host; the Content-Security-Policy says so to the browser too.
 */
import type { Context, Hono } from "hono";
import { onlyGet } from "../app.ts";

export interface DeskAssets {
  html: string;
  js: string;
  css: string;
  svg: string;
  /** Content hash of the whole, for ETag. */
  etag: string;
}

const here = new URL(".", import.meta.url).pathname;
const uplotCss = new URL("../../node_modules/uplot/dist/uPlot.min.css", import.meta.url).pathname;

/** Only this origin: scripts, styles, the socket and fetches. uPlot sets element styles from script, which CSP allows. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/**
 * Bundles the desk: one minified browser script, one stylesheet (ours after uPlot's).
 *
 * @example
 * const { js } = await buildDesk(); // the desk's whole script
 */
export async function buildDesk(): Promise<DeskAssets> {
  const result = await Bun.build({ entrypoints: [`${here}app/main.ts`], target: "browser", minify: true, format: "esm" });
  if (!result.success) throw new Error(`cannot bundle the desk: ${result.logs.map((l) => l.message).join("; ")}`);
  const js = await result.outputs[0]!.text();
  const css = `${await Bun.file(uplotCss).text()}\n${await Bun.file(`${here}desk.css`).text()}`;
  const html = await Bun.file(`${here}index.html`).text();
  const svg = await Bun.file(`${here}favicon.svg`).text();
  const etag = `"${Bun.hash(html + js + css + svg).toString(36)}"`;
  return { html, js, css, svg, etag };
}

/**
 * Registers `/` and `/desk/*` on the gateway's app.
 *
 * @example
 * mountDesk(app); // GET / → the desk
 */
export function mountDesk(app: Hono): void {
  let built: Promise<DeskAssets> | undefined;
  // A failed build is not kept: the next request tries again (and the error is in the 500).
  const assets = () => (built ??= buildDesk().catch((err: unknown) => ((built = undefined), Promise.reject(err))));

  const serve = (pick: (a: DeskAssets) => string, type: string) => async (c: Context) => {
    const a = await assets();
    // no-cache: the browser revalidates, so a restarted gateway's new desk is seen at once.
    const headers = { "Content-Type": type, "Cache-Control": "no-cache", ETag: a.etag, "X-Content-Type-Options": "nosniff", "Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer" };
    if (c.req.header("if-none-match") === a.etag) return c.body(null, 304, headers);
    return c.body(pick(a), 200, headers);
  };
  const files: Array<[string, (a: DeskAssets) => string, string]> = [
    ["/", (a) => a.html, "text/html; charset=utf-8"],
    ["/desk/desk.js", (a) => a.js, "text/javascript; charset=utf-8"],
    ["/desk/desk.css", (a) => a.css, "text/css; charset=utf-8"],
    ["/desk/favicon.svg", (a) => a.svg, "image/svg+xml"],
  ];
  for (const [path, pick, type] of files) {
    app.get(path, serve(pick, type));
    onlyGet(app, path);
  }
}
