/**
 * OpenAlgo's OpenAPI document (spec/openapi.yaml, unchanged from its repository) and the response
 * schemas we wrote from its sources for the endpoints it does not cover (spec/responses.yaml),
 * read as one document, and a checker of a request or an answer against them. The checker knows
 * the parts of JSON Schema these documents use: $ref, type, nullable, enum, properties, required,
 * items, additionalProperties, oneOf/anyOf.
 */
import { readdirSync, readFileSync } from "node:fs";

type Schema = Record<string, any>;
interface Operation {
  requestBody?: { content: { "application/json": { schema: Schema } } };
  responses: Record<string, { content?: { "application/json"?: { schema: Schema } } }>;
}
interface Document {
  components: { schemas: Record<string, Schema> };
  paths: Record<string, { post?: Operation }>;
}

const read = (name: string): Document => Bun.YAML.parse(readFileSync(new URL(`spec/${name}`, import.meta.url), "utf8")) as Document;

/** Ours: spec/responses*.yaml, one per group of routes, as one document. */
function ours(): Document {
  const files = readdirSync(new URL("spec/", import.meta.url)).filter((f) => /^responses.*\.yaml$/.test(f)).sort();
  const doc: Document = { components: { schemas: {} }, paths: {} };
  for (const f of files) {
    const part = read(f);
    for (const [name, schema] of Object.entries(part.components?.schemas ?? {})) {
      if (doc.components.schemas[name]) throw new Error(`${f} redefines schema ${name}`);
      doc.components.schemas[name] = schema;
    }
    for (const [path, item] of Object.entries(part.paths ?? {})) {
      if (doc.paths[path]) throw new Error(`${f} redefines path ${path}`);
      doc.paths[path] = item;
    }
  }
  return doc;
}

/** The documents as one: OpenAlgo's paths and schemas, then ours for what it lacks (never overriding). */
function merged(): Document {
  const theirs = read("openapi.yaml");
  const ours_ = ours();
  for (const name of Object.keys(ours_.components.schemas)) {
    if (theirs.components.schemas[name]) throw new Error(`responses*.yaml redefine OpenAlgo's schema ${name}`);
  }
  for (const path of Object.keys(ours_.paths)) {
    if (theirs.paths[path]) throw new Error(`responses*.yaml redefine OpenAlgo's path ${path}`);
  }
  return {
    components: { schemas: { ...theirs.components.schemas, ...ours_.components.schemas } },
    paths: { ...theirs.paths, ...ours_.paths },
  };
}

export const SPEC = merged();

/** The paths OpenAlgo's own document describes (the rest are from responses.yaml). */
export const OPENALGO_DOCUMENTED = Object.keys(read("openapi.yaml").paths);

const typeOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function check(schema: Schema, value: unknown, at: string, problems: string[]): void {
  if (schema.$ref) {
    const name = String(schema.$ref).replace("#/components/schemas/", "");
    const target = SPEC.components.schemas[name];
    if (!target) throw new Error(`unknown $ref ${schema.$ref}`);
    return check(target, value, at, problems);
  }
  if (value === null && schema.nullable) return;
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) {
    const fits = (alternatives as Schema[]).filter((s) => {
      const p: string[] = [];
      check(s, value, at, p);
      return p.length === 0;
    });
    if (fits.length === 0) problems.push(`${at}: fits none of the ${schema.oneOf ? "oneOf" : "anyOf"} schemas`);
    return;
  }
  const t = typeOf(value);
  if (schema.type) {
    const ok =
      schema.type === t ||
      (schema.type === "integer" && t === "number" && Number.isInteger(value)) ||
      (schema.type === "number" && t === "number");
    if (!ok) {
      problems.push(`${at}: must be ${schema.type}, got ${t} ${JSON.stringify(value)?.slice(0, 60)}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${at}: must be one of ${schema.enum.join(", ")}, got ${JSON.stringify(value)}`);
  if (t === "object") {
    const obj = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in obj)) problems.push(`${at}.${name}: is required`);
    for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
      if (name in obj) check(sub, obj[name], `${at}.${name}`, problems);
    }
    if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
      for (const [name, v] of Object.entries(obj)) if (!(name in (schema.properties ?? {}))) check(schema.additionalProperties, v, `${at}.${name}`, problems);
    }
  }
  if (t === "array" && schema.items) (value as unknown[]).forEach((v, i) => check(schema.items, v, `${at}[${i}]`, problems));
}

function operation(path: string): Operation {
  const op = SPEC.paths[path]?.post;
  if (!op) throw new Error(`no POST ${path} in OpenAlgo's document or responses.yaml`);
  return op;
}

/**
 * What is wrong with an answer to POST `path` (as the documents name it: "/placeorder"), given its
 * status: an undocumented status, or every field that does not fit; [] when it fits.
 *
 * @example
 * expect(responseProblems("/placeorder", r.status, r.body)).toEqual([]);
 */
export function responseProblems(path: string, status: number, body: unknown): string[] {
  const response = operation(path).responses[String(status)];
  if (!response) return [`${path}: status ${status} is not documented (documented: ${Object.keys(operation(path).responses).join(", ")})`];
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) return [];
  const problems: string[] = [];
  check(schema, body, "body", problems);
  return problems;
}

/**
 * What is wrong with a request body for POST `path` by its documented schema; [] when it fits.
 *
 * @example
 * expect(requestProblems("/placeorder", body)).toEqual([]);
 */
export function requestProblems(path: string, body: unknown): string[] {
  const schema = operation(path).requestBody?.content["application/json"].schema;
  if (!schema) return [];
  const problems: string[] = [];
  check(schema, body, "body", problems);
  return problems;
}
