/**
 * A headless Chromium driven over the DevTools protocol, for tests that must see what a real
 * browser loads (Debian's /usr/bin/chromium; nothing is downloaded). `open` records every request
 * the page makes, its exceptions and console errors.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const hasChromium = (): boolean => existsSync(CHROMIUM);

export interface Page {
  /** Every URL the page requested, in order. */
  requests: string[];
  /** Uncaught exceptions and console errors. */
  errors: string[];
  evaluate<T>(expression: string): Promise<T>;
  /** Evaluates `expression` until it is truthy; rejects after `timeoutMs`. */
  waitFor(expression: string, timeoutMs: number): Promise<void>;
}

export interface Browser {
  open(url: string): Promise<Page>;
  close(): Promise<void>;
}

/**
 * @example
 * const browser = await launch();
 * const page = await browser.open("http://127.0.0.1:8080/docs");
 * await page.waitFor("document.querySelector('.opblock')", 10_000);
 * await browser.close();
 */
export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "cdp-"));
  const proc = Bun.spawn([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"], { stdout: "ignore", stderr: "pipe" });
  const endpoint = await devtoolsUrl(proc.stderr);
  const ws = new WebSocket(endpoint);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot connect to Chromium's DevTools at ${endpoint}`));
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(msg: { method: string; params: any; sessionId?: string }) => void>();
  ws.onmessage = (event) => {
    const msg = JSON.parse(String(event.data));
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
    } else for (const l of listeners) l(msg);
  };
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  return {
    async open(url) {
      const { targetId } = await send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
      const requests: string[] = [];
      const errors: string[] = [];
      listeners.add((msg) => {
        if (msg.sessionId !== sessionId) return;
        if (msg.method === "Network.requestWillBeSent") requests.push(msg.params.request.url);
        if (msg.method === "Runtime.exceptionThrown") errors.push(msg.params.exceptionDetails?.exception?.description ?? msg.params.exceptionDetails?.text);
        if (msg.method === "Runtime.consoleAPICalled" && msg.params.type === "error") errors.push(msg.params.args.map((a: any) => a.value ?? a.description).join(" "));
        if (msg.method === "Log.entryAdded" && msg.params.entry.level === "error") errors.push(`${msg.params.entry.text} ${msg.params.entry.url ?? ""}`);
      });
      for (const domain of ["Network", "Runtime", "Log", "Page"]) await send(`${domain}.enable`, {}, sessionId);
      await send("Page.navigate", { url }, sessionId);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const { result, exceptionDetails } = await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
        return result.value as T;
      };
      return {
        requests,
        errors,
        evaluate,
        async waitFor(expression, timeoutMs) {
          const until = Date.now() + timeoutMs;
          while (!(await evaluate<unknown>(`Boolean(${expression})`).catch(() => false))) {
            if (Date.now() > until) throw new Error(`still not true after ${timeoutMs} ms: ${expression}`);
            await Bun.sleep(100);
          }
        },
      };
    },
    async close() {
      await send("Browser.close").catch(() => {});
      ws.close();
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
      if (!exited) proc.kill("SIGKILL");
      await proc.exited;
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The browser's DevTools WebSocket URL, from the line Chromium prints on stderr at start; the rest
 * of stderr is read and dropped, so the browser never blocks on a full pipe.
 */
function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Chromium printed no DevTools URL within 20 s: ${text.slice(-500)}`)), 20_000);
    const decoder = new TextDecoder();
    let text = "";
    let found = false;
    void (async () => {
      for await (const chunk of stderr) {
        if (found) continue;
        text += decoder.decode(chunk, { stream: true });
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
        if (m) {
          found = true;
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }
      clearTimeout(timer);
      if (!found) reject(new Error(`Chromium exited before printing its DevTools URL: ${text.slice(-500)}`));
    })();
  });
}
