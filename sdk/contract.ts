/**
 * The channel scorer plugin contract: what a file in `plugins/` exports.
 *
 * Pure TypeScript with no I/O and no value imports: the plugin sandbox can read this folder and
 * the plugins directory, nothing else. Plugins import it as `@orderflow/scorer`.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";

export type { OrderData };

/**
 * Allowed channels: a lower-case letter, then up to 31 lower-case letters, digits, `_`, `-`.
 * The same rule as `CHANNEL_PATTERN` in `core/order.ts` (a test keeps them equal); defined here
 * so the SDK loads no file outside its folder.
 */
export const CHANNEL_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,31}$/;

/** The plugin API version this host understands. A spec must declare `apiVersion: 1`. */
export const SCORER_API_VERSION = 1 as const;

/** Scorer names: lowercase, starts with a letter, at most 64 chars. */
export const SCORER_NAME_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,63}$/;

/** Schema of one numeric option. `min`/`max` are inclusive. */
export interface NumberOptionSpec {
  readonly type: "number";
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

/** Schema of one string option. `enum` restricts the allowed values. */
export interface StringOptionSpec {
  readonly type: "string";
  readonly default: string;
  readonly enum?: readonly string[];
  readonly description: string;
}

/** Schema of one boolean option. */
export interface BooleanOptionSpec {
  readonly type: "boolean";
  readonly default: boolean;
  readonly description: string;
}

/** Schema of one scorer option: its type, default and a one-line description. */
export type OptionSpec = NumberOptionSpec | StringOptionSpec | BooleanOptionSpec;

/**
 * The data part of a scorer plugin: who it is, which channel it scores and which options it
 * takes (with defaults). The host reads it to route orders and validate `manifest.json` options.
 */
export interface ScorerSpec {
  /** Unique scorer name, reported as `scorer` on every enriched order. */
  readonly name: string;
  /** The `order.channel` this scorer handles. One scorer per channel. */
  readonly channel: string;
  /** Must be {@linkcode SCORER_API_VERSION}. */
  readonly apiVersion: typeof SCORER_API_VERSION;
  /** One sentence: what the score means. */
  readonly description: string;
  /** Option schema; the factory receives every option, defaults applied. */
  readonly options: Readonly<Record<string, OptionSpec>>;
}

/** The option values a factory receives for a given option schema (defaults applied). */
export type OptionValues<O extends Readonly<Record<string, OptionSpec>>> = {
  readonly [K in keyof O]: O[K] extends NumberOptionSpec ? number
    : O[K] extends BooleanOptionSpec ? boolean
    : string;
};

/**
 * A live scorer. `score` must return a finite number in [0, 1) — 0 is no risk. Anything else
 * (NaN, 1, a throw, taking too long) is a failure: the host scores that order with the fallback
 * scorer and counts the failure against this plugin.
 */
export interface Scorer {
  score(order: OrderData): number;
}

/** Builds a scorer from validated options. Called once per plugin process, not per order. */
export type ScorerFactory<S extends ScorerSpec = ScorerSpec> = (
  options: OptionValues<S["options"]>,
) => Scorer;

/** What a plugin file exports as `default`: the spec plus the factory. */
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

const SPEC_FIELDS = new Set(["name", "channel", "apiVersion", "description", "options"]);
const OPTION_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  number: new Set(["type", "default", "min", "max", "description"]),
  string: new Set(["type", "default", "enum", "description"]),
  boolean: new Set(["type", "default", "description"]),
};

function optionProblems(key: string, option: unknown): string[] {
  const at = `options.${key}`;
  if (!isRecord(option)) return [`${at} must be an object`];
  const fields = OPTION_FIELDS[String(option.type)];
  if (fields === undefined) return [`${at}.type must be "number", "string" or "boolean"`];
  const problems: string[] = [];
  for (const field of Object.keys(option)) {
    if (!fields.has(field)) problems.push(`${at}.${field} is not a known field`);
  }
  if (typeof option.description !== "string" || option.description.trim() === "") {
    problems.push(`${at}.description must be a non-empty string`);
  }
  const value = option.default;
  if (option.type === "number") {
    for (const bound of ["min", "max"] as const) {
      const b = option[bound];
      if (b !== undefined && (typeof b !== "number" || !Number.isFinite(b))) {
        problems.push(`${at}.${bound} must be a finite number`);
      }
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      problems.push(`${at}.default must be a finite number`);
    } else {
      problems.push(...valueProblems(key, option as unknown as OptionSpec, value, "default"));
    }
  } else if (option.type === "string") {
    const allowed = option.enum;
    if (
      allowed !== undefined &&
      (!Array.isArray(allowed) || allowed.some((v) => typeof v !== "string"))
    ) {
      problems.push(`${at}.enum must be an array of strings`);
    } else if (typeof value !== "string") {
      problems.push(`${at}.default must be a string`);
    } else {
      problems.push(...valueProblems(key, option as unknown as OptionSpec, value, "default"));
    }
  } else if (typeof value !== "boolean") {
    problems.push(`${at}.default must be a boolean`);
  }
  return problems;
}

function valueProblems(key: string, option: OptionSpec, value: unknown, what: string): string[] {
  const at = what === "default" ? `options.${key}.default` : `option "${key}"`;
  switch (option.type) {
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) {
        return [`${at} must be a finite number, got ${JSON.stringify(value)}`];
      }
      if (option.min !== undefined && value < option.min) {
        return [`${at} must be >= ${option.min}, got ${value}`];
      }
      if (option.max !== undefined && value > option.max) {
        return [`${at} must be <= ${option.max}, got ${value}`];
      }
      return [];
    case "string":
      if (typeof value !== "string") {
        return [`${at} must be a string, got ${JSON.stringify(value)}`];
      }
      if (option.enum !== undefined && !option.enum.includes(value)) {
        return [`${at} must be one of ${option.enum.map((v) => JSON.stringify(v)).join(", ")}`];
      }
      return [];
    case "boolean":
      return typeof value === "boolean"
        ? []
        : [`${at} must be a boolean, got ${JSON.stringify(value)}`];
  }
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
 * assert.deepEqual(validateScorerSpec({ name: "web", channel: "Web!", apiVersion: 1, description: "x", options: {} }), [
 *   'channel must match /^[a-z][a-z0-9_-]{0,31}$/, got "Web!"',
 * ]);
 * ```
 */
export function validateScorerSpec(spec: unknown): readonly string[] {
  if (!isRecord(spec)) return ["spec must be an object"];
  const problems: string[] = [];
  for (const field of Object.keys(spec)) {
    if (!SPEC_FIELDS.has(field)) problems.push(`spec.${field} is not a known field`);
  }
  if (typeof spec.name !== "string" || !SCORER_NAME_PATTERN.test(spec.name)) {
    problems.push(`name must match ${SCORER_NAME_PATTERN}, got ${JSON.stringify(spec.name)}`);
  }
  if (typeof spec.channel !== "string" || !CHANNEL_PATTERN.test(spec.channel)) {
    problems.push(`channel must match ${CHANNEL_PATTERN}, got ${JSON.stringify(spec.channel)}`);
  }
  if (spec.apiVersion !== SCORER_API_VERSION) {
    problems.push(
      `apiVersion must be ${SCORER_API_VERSION}, got ${JSON.stringify(spec.apiVersion)}`,
    );
  }
  if (typeof spec.description !== "string" || spec.description.trim() === "") {
    problems.push("description must be a non-empty string");
  }
  if (!isRecord(spec.options)) {
    problems.push("options must be an object (use {} for none)");
  } else {
    for (const [key, option] of Object.entries(spec.options)) {
      problems.push(...optionProblems(key, option));
    }
  }
  return Object.freeze(problems);
}

/**
 * Applies a spec's defaults to the options given (e.g. from `manifest.json`) and validates them.
 * Unknown option names are rejected. Returns a frozen object.
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
  const problems: string[] = [];
  const input = given === undefined ? {} : given;
  if (!isRecord(input)) {
    throw new ScorerSpecError(`Cannot apply options to scorer "${spec.name}"`, [
      "options must be an object",
    ]);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(spec.options, key)) {
      const known = Object.keys(spec.options);
      problems.push(
        `option "${key}" is not declared by the scorer (known: ${known.join(", ") || "none"})`,
      );
    }
  }
  for (const [key, option] of Object.entries(spec.options)) {
    const value = Object.hasOwn(input, key) ? input[key] : option.default;
    problems.push(...valueProblems(key, option, value, "value"));
    out[key] = value;
  }
  if (problems.length > 0) {
    throw new ScorerSpecError(`Cannot apply options to scorer "${spec.name}"`, problems);
  }
  return Object.freeze(out) as OptionValues<S["options"]>;
}

/**
 * Declares a scorer plugin. Validates the spec at once (so a bad plugin fails when it loads, not
 * on the first order) and returns the frozen module to `export default`.
 *
 * A plugin file imports nothing but `@orderflow/scorer` (and its own files in `plugins/`), has
 * no I/O, and runs in a sandbox with no permissions. `create` receives every declared option with defaults applied; `score` gets a
 * plain {@linkcode OrderData} and returns a number in [0, 1).
 *
 * @example
 * ```ts
 * import { defineScorer } from "./contract.ts";
 * import assert from "node:assert/strict";
 *
 * const scorer = defineScorer({
 *   spec: {
 *     name: "web",
 *     channel: "web",
 *     apiVersion: 1,
 *     description: "Risk proportional to the order total, capped at 0.99.",
 *     options: {
 *       scale: { type: "number", default: 1000, min: 1, description: "Total that scores 1.0" },
 *     },
 *   },
 *   create({ scale }) {
 *     return { score: (order) => Math.min(order.total / scale, 0.99) };
 *   },
 * });
 * const order = {
 *   orderId: "o1", customerId: "c1", channel: "web", items: [], total: 250,
 *   currency: "USD", createdAt: "2026-11-26T20:00:00.000Z",
 * };
 * assert.equal(scorer.create({ scale: 1000 }).score(order), 0.25);
 * assert.throws(() => defineScorer({ ...scorer, spec: { ...scorer.spec, channel: "" } }));
 * ```
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
