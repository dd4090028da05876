/**
 * The channel scorer plugin contract, imported by plugins as `@orderflow/scorer` (`mod.ts`).
 * No I/O and no value imports: the plugin sandbox can read only this folder and the plugins
 * directory.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";

export type { OrderData };

/**
 * Allowed channels. Equal to `CHANNEL_PATTERN` in `core/order.ts` (a test keeps them equal);
 * repeated here so the SDK loads no file outside its folder.
 */
export const CHANNEL_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,31}$/;

/** The plugin API version this host understands: a spec must declare `apiVersion: 1`. */
export const SCORER_API_VERSION = 1 as const;

/** Scorer names: lowercase, starts with a letter, at most 64 chars. */
export const SCORER_NAME_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,63}$/;

/** A numeric option; `min` and `max` are inclusive. */
export interface NumberOptionSpec {
  readonly type: "number";
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

/** A string option; `enum` lists the allowed values. */
export interface StringOptionSpec {
  readonly type: "string";
  readonly default: string;
  readonly enum?: readonly string[];
  readonly description: string;
}

/** A boolean option. */
export interface BooleanOptionSpec {
  readonly type: "boolean";
  readonly default: boolean;
  readonly description: string;
}

/** One scorer option: its type, default and a one-line description. */
export type OptionSpec = NumberOptionSpec | StringOptionSpec | BooleanOptionSpec;

/** Who a scorer is, which `order.channel` it scores (one scorer per channel), its options. */
export interface ScorerSpec {
  /** Unique scorer name, reported as `scorer` on every enriched order. */
  readonly name: string;
  readonly channel: string;
  readonly apiVersion: typeof SCORER_API_VERSION;
  /** One sentence: what the score means. */
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
}

/** The option values a factory receives for an option schema (defaults applied). */
export type OptionValues<O extends Readonly<Record<string, OptionSpec>>> = {
  readonly [K in keyof O]: O[K] extends NumberOptionSpec ? number
    : O[K] extends BooleanOptionSpec ? boolean
    : string;
};

/**
 * A live scorer. `score` returns a finite number in [0, 1), 0 being no risk; anything else (a
 * throw, NaN, 1, running past the deadline) is a failure, and the order gets the fallback score.
 */
export interface Scorer {
  score(order: OrderData): number;
}

/** Builds a scorer from validated options; called once per plugin process, not per order. */
export type ScorerFactory<S extends ScorerSpec = ScorerSpec> = (
  options: OptionValues<S["options"]>,
) => Scorer;

/** What a plugin file exports as `default`. */
export interface ScorerModule<S extends ScorerSpec = ScorerSpec> {
  readonly spec: S;
  readonly create: ScorerFactory<S>;
}

/** Thrown by {@linkcode defineScorer} and {@linkcode resolveOptions}; lists every problem. */
export class ScorerSpecError extends TypeError {
  /** Every problem found, each naming the field. */
  readonly problems: readonly string[];
  /**
   * @param action What was being done, e.g. `Cannot define scorer "web"`.
   * @param problems Every problem found.
   */
  constructor(action: string, problems: readonly string[]) {
    super(`${action}: ${problems.join("; ")}`);
    this.name = "ScorerSpecError";
    this.problems = Object.freeze([...problems]);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isText = (value: unknown) => typeof value === "string" && value.trim() !== "";
function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** Problems of `record`'s field names: every one must be in `known`. */
function unknownFields(record: object, known: readonly string[], at: string): string[] {
  return Object.keys(record).filter((f) => !known.includes(f)).map((f) =>
    `${at}.${f} is not a known field`
  );
}

const OPTION_FIELDS: Readonly<Record<string, readonly string[]>> = {
  number: ["type", "default", "min", "max", "description"],
  string: ["type", "default", "enum", "description"],
  boolean: ["type", "default", "description"],
};

function optionProblems(key: string, option: unknown): string[] {
  const at = `options.${key}`;
  if (!isRecord(option)) return [`${at} must be an object`];
  const fields = OPTION_FIELDS[String(option.type)];
  if (fields === undefined) return [`${at}.type must be "number", "string" or "boolean"`];
  const problems = unknownFields(option, fields, at);
  if (!isText(option.description)) problems.push(`${at}.description must be a non-empty string`);
  const shape: string[] = [];
  for (const rule of ["min", "max", "enum"] as const) {
    const v = option[rule];
    if (v === undefined) continue;
    if (rule === "enum" && !(Array.isArray(v) && v.every((e) => typeof e === "string"))) {
      shape.push(`${at}.enum must be an array of strings`);
    } else if (rule !== "enum" && !isFiniteNumber(v)) {
      shape.push(`${at}.${rule} must be a finite number`);
    }
  }
  // The default is checked against the option's own rules only once those rules are sound.
  const spec = option as unknown as OptionSpec;
  problems.push(
    ...(shape.length > 0 ? shape : valueProblems(`${at}.default`, spec, option.default)),
  );
  return problems;
}

function valueProblems(at: string, option: OptionSpec, value: unknown): string[] {
  const got = `got ${JSON.stringify(value)}`;
  if (option.type === "boolean") {
    return typeof value === "boolean" ? [] : [`${at} must be a boolean, ${got}`];
  }
  if (option.type === "string") {
    if (typeof value !== "string") return [`${at} must be a string, ${got}`];
    if (option.enum !== undefined && !option.enum.includes(value)) {
      return [`${at} must be one of ${option.enum.map((v) => JSON.stringify(v)).join(", ")}`];
    }
    return [];
  }
  if (!isFiniteNumber(value)) return [`${at} must be a finite number, ${got}`];
  if (option.min !== undefined && value < option.min) {
    return [`${at} must be >= ${option.min}, ${got}`];
  }
  if (option.max !== undefined && value > option.max) {
    return [`${at} must be <= ${option.max}, ${got}`];
  }
  return [];
}

/**
 * Lists every problem with a scorer spec (empty when valid). Unknown fields are problems, so a
 * typo such as `chanel` is caught instead of ignored.
 *
 * @example
 * ```ts
 * import { validateScorerSpec } from "./contract.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = { name: "web", chanel: "web", apiVersion: 1, description: "d", options: {} };
 * assert.deepEqual(validateScorerSpec(spec), [
 *   "spec.chanel is not a known field",
 *   "channel must match /^[a-z][a-z0-9_-]{0,31}$/, got undefined",
 * ]);
 * ```
 */
export function validateScorerSpec(spec: unknown): readonly string[] {
  if (!isRecord(spec)) return ["spec must be an object"];
  const problems = unknownFields(
    spec,
    ["name", "channel", "apiVersion", "description", "options"],
    "spec",
  );
  const patterns = [["name", SCORER_NAME_PATTERN], ["channel", CHANNEL_PATTERN]] as const;
  for (const [field, pattern] of patterns) {
    const value = spec[field];
    if (typeof value !== "string" || !pattern.test(value)) {
      problems.push(`${field} must match ${pattern}, got ${JSON.stringify(value)}`);
    }
  }
  if (spec.apiVersion !== SCORER_API_VERSION) {
    problems.push(
      `apiVersion must be ${SCORER_API_VERSION}, got ${JSON.stringify(spec.apiVersion)}`,
    );
  }
  if (!isText(spec.description)) problems.push("description must be a non-empty string");
  if (!isRecord(spec.options)) problems.push("options must be an object (use {} for none)");
  else {
    for (const [key, option] of Object.entries(spec.options)) {
      problems.push(...optionProblems(key, option));
    }
  }
  return Object.freeze(problems);
}

/**
 * Applies a spec's defaults to the options given (e.g. from `manifest.json`) and validates them;
 * unknown option names are rejected. Returns a frozen object.
 *
 * @example
 * ```ts
 * import { resolveOptions } from "./contract.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = {
 *   name: "web", channel: "web", apiVersion: 1, description: "d",
 *   options: { scale: { type: "number", default: 1000, min: 1, description: "s" } },
 * } as const;
 * assert.deepEqual(resolveOptions(spec, {}), { scale: 1000 });
 * assert.deepEqual(resolveOptions(spec, { scale: 50 }), { scale: 50 });
 * assert.throws(() => resolveOptions(spec, { scale: 0 }), /must be >= 1/);
 * ```
 */
export function resolveOptions<S extends ScorerSpec>(
  spec: S,
  given: unknown,
): OptionValues<S["options"]> {
  const action = `Cannot apply options to scorer "${spec.name}"`;
  const input = given ?? {};
  if (!isRecord(input)) throw new ScorerSpecError(action, ["options must be an object"]);
  const known = Object.keys(spec.options).join(", ") || "none";
  const problems = Object.keys(input).filter((key) => !Object.hasOwn(spec.options, key))
    .map((key) => `option "${key}" is not declared by the scorer (known: ${known})`);
  const out: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(spec.options)) {
    out[key] = Object.hasOwn(input, key) ? input[key] : option.default;
    problems.push(...valueProblems(`option "${key}"`, option, out[key]));
  }
  if (problems.length > 0) throw new ScorerSpecError(action, problems);
  return Object.freeze(out) as OptionValues<S["options"]>;
}

/**
 * Declares a scorer plugin: validates the spec at once (a bad plugin fails when it loads, not on
 * the first order) and returns the frozen module to `export default`. See `mod.ts` for an
 * example.
 */
export function defineScorer<const S extends ScorerSpec>(
  module: { readonly spec: S; create(options: OptionValues<S["options"]>): Scorer },
): ScorerModule<S> {
  const problems = [...validateScorerSpec(module?.spec)];
  if (typeof module?.create !== "function") problems.push("create must be a function");
  if (problems.length > 0) {
    const name = isRecord(module?.spec) ? JSON.stringify(module.spec.name) : "(unnamed)";
    throw new ScorerSpecError(`Cannot define scorer ${name}`, problems);
  }
  const create = module.create;
  return Object.freeze({
    spec: deepFreeze(structuredClone(module.spec)),
    create: (options: OptionValues<S["options"]>) => create.call(module, options),
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
