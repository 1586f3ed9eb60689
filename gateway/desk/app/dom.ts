/**
 * A few DOM helpers: build elements, and the desk's one dialog (confirm and small forms), whose
 * confirming button is data-testid="confirm".
 */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

/**
 * An element with attributes (`on…` functions become listeners; false/undefined are left out).
 *
 * @example
 * h("button", { "data-testid": "cancel", onclick: () => cancel(id) }, "Cancel");
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(typeof child === "number" ? String(child) : child);
  return el;
}

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (typeof c === "number" ? String(c) : c)));
}

export interface Field {
  name: string;
  label: string;
  value?: string;
  type?: string;
  options?: readonly string[];
  hint?: string;
}

/**
 * Opens the dialog: a title, a message, optional fields, Cancel and a confirming button. Resolves
 * with the fields' values when confirmed, undefined when dismissed. `submit` may refuse the values
 * with a message (shown in the dialog, which stays open) by resolving to a string.
 */
export function ask(opts: { title: string; message?: string; fields?: Field[]; confirm: string; danger?: boolean; submit?: (values: Record<string, string>) => Promise<string | undefined> }): Promise<Record<string, string> | undefined> {
  const dialog = byId<HTMLDialogElement>("dialog");
  const form = byId<HTMLFormElement>("dialog-form");
  const error = h("p", { class: "error", role: "alert" });
  const inputs = (opts.fields ?? []).map((f) => {
    const input = f.options
      ? h("select", { name: f.name }, ...f.options.map((o) => h("option", { value: o, selected: o === f.value }, o)))
      : h("input", { name: f.name, type: f.type ?? "text", value: f.value ?? "", autocomplete: "off" });
    return { f, input, row: h("label", {}, f.label, input, f.hint ? h("small", { class: "muted" }, f.hint) : null) };
  });
  const ok = h("button", { type: "submit", value: "confirm", "data-testid": "confirm", class: opts.danger ? "danger" : "primary" }, opts.confirm);
  const cancel = h("button", { type: "button", value: "cancel" }, "Cancel");
  fill(form, h("h2", {}, opts.title), opts.message ? h("p", {}, opts.message) : null, ...inputs.map((i) => i.row), error, h("div", { class: "actions" }, cancel, ok));
  return new Promise((resolve) => {
    const values = () => Object.fromEntries(inputs.map(({ f, input }) => [f.name, input.value.trim()]));
    const done = (v: Record<string, string> | undefined) => {
      form.onsubmit = null;
      cancel.onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(v);
    };
    cancel.onclick = () => done(undefined);
    dialog.onclose = () => done(undefined);
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const v = values();
      if (!opts.submit) return done(v);
      ok.disabled = true;
      const refusal = await opts.submit(v).catch((err: unknown) => (err as Error).message);
      ok.disabled = false;
      if (refusal) error.textContent = refusal;
      else done(v);
    };
    dialog.showModal();
    (inputs[0]?.input ?? ok).focus();
  });
}
