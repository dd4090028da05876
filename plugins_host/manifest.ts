/**
 * `plugins/manifest.json`: which scorer serves which channel, with options, the fallback scorer,
 * and whether unlisted scorer files are discovered.
 *
 * @module
 */
import { CHANNEL_PATTERN, SCORER_NAME_PATTERN } from "../sdk/contract.ts";

/** The manifest file name inside the plugins directory. */
export const MANIFEST_FILE = "manifest.json";

/** Limits of one plugin sandbox, from its manifest entry (defaults applied). */
export interface PluginLimits {
  /** V8 heap cap of the plugin process, MiB. Default {@linkcode DEFAULT_MEMORY_MB}. */
  readonly memoryMb: number;
  /** Deadline of one call, ms, plus {@linkcode PER_ORDER_BUDGET_MS} per order. */
  readonly deadlineMs: number;
}

/** Default heap cap per plugin: roomy for a scorer with lookup tables, small beside the host. */
export const DEFAULT_MEMORY_MB = 64;
/** Default base deadline per call. */
export const DEFAULT_DEADLINE_MS = 250;
/** Deadline added per order in a call, so a large batch of a fast scorer is not cut off. */
export const PER_ORDER_BUDGET_MS = 0.05;
/** Accepted ranges: below 16 MiB a Deno isolate does not start; deadlines are whole ms. */
const LIMIT_RANGES = { memoryMb: [16, 4096], deadlineMs: [10, 60_000] } as const;

/** One scorer listed in the manifest. */
export interface ManifestScorer extends PluginLimits {
  readonly name: string;
  readonly channel: string;
  /** Path relative to the plugins directory, e.g. `./web.ts`. */
  readonly module: string;
  readonly enabled: boolean;
  readonly options: Readonly<Record<string, unknown>>;
}

/** The fallback scorer: scores unknown channels and orders whose scorer failed. */
export interface ManifestFallback extends PluginLimits {
  readonly module: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** A validated manifest. */
export interface Manifest {
  readonly version: 1;
  readonly discovery: boolean;
  readonly scorers: readonly ManifestScorer[];
  readonly fallback: ManifestFallback;
}

/** Thrown when the manifest is unreadable or invalid; `problems` names every problem. */
export class ManifestError extends TypeError {
  /** Every problem found, each naming the entry (`scorers[1] "web"`). */
  readonly problems: readonly string[];
  /** The manifest file. */
  readonly file: string;
  /**
   * @param file The manifest file.
   * @param problems Every problem found.
   * @param options Standard error options (`cause`).
   */
  constructor(file: string, problems: readonly string[], options?: ErrorOptions) {
    super(`Cannot load plugin manifest ${file}: ${problems.join("; ")}`, options);
    this.name = "ManifestError";
    this.file = file;
    this.problems = Object.freeze([...problems]);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks a manifest module path syntactically: relative, inside the directory (no `..`, no
 * absolute path, no backslash), ending in `.ts` or `.js`, not a test file. Returns the problem or
 * `undefined`. Symlinks are checked separately by {@linkcode resolvePluginFile}.
 *
 * @example
 * ```ts
 * import { modulePathProblem } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(modulePathProblem("./web.ts"), undefined);
 * assert.match(modulePathProblem("../core/order.ts") ?? "", /inside plugins/);
 * assert.match(modulePathProblem("/etc/passwd.ts") ?? "", /relative/);
 * assert.match(modulePathProblem("./web.json") ?? "", /\.ts or \.js/);
 * ```
 */
export function modulePathProblem(module: string): string | undefined {
  if (module.includes("\0") || module.includes("\\")) {
    return `module must be a plain relative path, got ${JSON.stringify(module)}`;
  }
  if (module.startsWith("/") || /^[A-Za-z]:/.test(module) || module.includes("://")) {
    return `module must be a relative path like "./web.ts", got ${JSON.stringify(module)}`;
  }
  const parts = module.split("/");
  if (parts.some((p) => p === "..")) {
    return `module must stay inside plugins/ (no ".."), got ${JSON.stringify(module)}`;
  }
  if (!/\.(ts|js)$/.test(module) || module.endsWith(".d.ts")) {
    return `module must be a .ts or .js file, got ${JSON.stringify(module)}`;
  }
  if (/_test\.(ts|js)$/.test(module)) {
    return `module must not be a test file, got ${JSON.stringify(module)}`;
  }
  return undefined;
}

const TOP_FIELDS = new Set(["$schema", "version", "discovery", "scorers", "fallback"]);
const LIMIT_FIELDS = ["memoryMb", "deadlineMs"] as const;
const SCORER_FIELDS = new Set(["name", "channel", "module", "enabled", "options", ...LIMIT_FIELDS]);
const FALLBACK_FIELDS = new Set(["module", "options", ...LIMIT_FIELDS]);

/** Checks what scorer entries and the fallback share: known fields, module, options, limits. */
function parsePlugin(
  raw: Record<string, unknown>,
  label: string,
  fields: ReadonlySet<string>,
  problems: string[],
): ManifestFallback {
  for (const key of Object.keys(raw)) {
    if (!fields.has(key)) problems.push(`${label}: "${key}" is not a known field`);
  }
  const { module, options } = raw;
  if (typeof module !== "string") {
    problems.push(`${label}: "module" must be a string path like "./web.ts"`);
  } else {
    const problem = modulePathProblem(module);
    if (problem !== undefined) problems.push(`${label}: ${problem}`);
  }
  if (options !== undefined && !isRecord(options)) {
    problems.push(`${label}: "options" must be an object`);
  }
  const limits = { memoryMb: DEFAULT_MEMORY_MB, deadlineMs: DEFAULT_DEADLINE_MS };
  for (const key of LIMIT_FIELDS) {
    const value = raw[key];
    if (value === undefined) continue;
    const [min, max] = LIMIT_RANGES[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${label}: "${key}" must be an integer from ${min} to ${max}`);
    } else limits[key] = value;
  }
  return Object.freeze({
    module: module as string,
    options: Object.freeze({ ...(options as Record<string, unknown> | undefined) }),
    ...limits,
  });
}

/**
 * Validates parsed manifest JSON and returns a frozen {@linkcode Manifest}; throws
 * {@linkcode ManifestError} listing every problem (unknown fields, bad paths, duplicate channels
 * or names). `file` is only used in messages.
 *
 * @example
 * ```ts
 * import { parseManifest } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * const entry = { name: "web", channel: "web", module: "./web.ts", enabled: true, options: {} };
 * const m = parseManifest({
 *   version: 1, discovery: true, scorers: [entry], fallback: { module: "./default.ts", options: {} },
 * });
 * assert.equal(m.scorers[0]?.channel, "web");
 * assert.throws(
 *   () => parseManifest({ ...m, scorers: [entry, { ...entry, name: "web2" }] }),
 *   /scorers\[1\] "web2": channel "web" is already served by scorers\[0\] "web"/,
 * );
 * ```
 */
export function parseManifest(value: unknown, file = MANIFEST_FILE): Manifest {
  const problems: string[] = [];
  if (!isRecord(value)) throw new ManifestError(file, ["top level must be a JSON object"]);
  for (const key of Object.keys(value)) {
    if (!TOP_FIELDS.has(key)) problems.push(`"${key}" is not a known field`);
  }
  if (value.$schema !== undefined && typeof value.$schema !== "string") {
    problems.push(`"$schema" must be a string`);
  }
  if (value.version !== 1) {
    problems.push(`"version" must be 1, got ${JSON.stringify(value.version)}`);
  }
  const discovery = value.discovery ?? true;
  if (typeof discovery !== "boolean") problems.push(`"discovery" must be true or false`);

  const scorers: ManifestScorer[] = [];
  const byChannel = new Map<string, string>();
  const byName = new Map<string, string>();
  if (!Array.isArray(value.scorers)) {
    problems.push(`"scorers" must be an array`);
  } else {
    value.scorers.forEach((raw: unknown, index: number) => {
      const label = isRecord(raw) && typeof raw.name === "string"
        ? `scorers[${index}] ${JSON.stringify(raw.name)}`
        : `scorers[${index}]`;
      if (!isRecord(raw)) {
        problems.push(`${label}: must be an object`);
        return;
      }
      const before = problems.length;
      const plugin = parsePlugin(raw, label, SCORER_FIELDS, problems);
      const { name, channel } = raw;
      const enabled = raw.enabled ?? true;
      if (typeof name !== "string" || !SCORER_NAME_PATTERN.test(name)) {
        problems.push(`${label}: "name" must match ${SCORER_NAME_PATTERN}`);
      }
      if (typeof channel !== "string" || !CHANNEL_PATTERN.test(channel)) {
        problems.push(`${label}: "channel" must match ${CHANNEL_PATTERN}`);
      }
      if (typeof enabled !== "boolean") problems.push(`${label}: "enabled" must be true or false`);
      if (typeof channel === "string") {
        const previous = byChannel.get(channel);
        if (previous !== undefined) {
          problems.push(`${label}: channel "${channel}" is already served by ${previous}`);
        } else byChannel.set(channel, label);
      }
      if (typeof name === "string") {
        const previous = byName.get(name);
        if (previous !== undefined) {
          problems.push(`${label}: name "${name}" is already used by ${previous}`);
        } else byName.set(name, label);
      }
      if (problems.length === before) {
        scorers.push(Object.freeze({
          name: name as string,
          channel: channel as string,
          enabled: enabled as boolean,
          ...plugin,
        }));
      }
    });
  }

  let fallback: ManifestFallback | undefined;
  if (!isRecord(value.fallback)) {
    problems.push(`"fallback" must be an object like { "module": "./default.ts", "options": {} }`);
  } else {
    const before = problems.length;
    const plugin = parsePlugin(value.fallback, "fallback", FALLBACK_FIELDS, problems);
    if (problems.length === before) fallback = plugin;
  }
  if (problems.length > 0 || fallback === undefined) throw new ManifestError(file, problems);
  return Object.freeze({
    version: 1,
    discovery: discovery as boolean,
    scorers: Object.freeze(scorers),
    fallback,
  });
}

/** Reads and validates `<pluginsDir>/manifest.json`. Throws {@linkcode ManifestError}. */
export async function loadManifest(pluginsDir: string): Promise<Manifest> {
  const file = joinPath(pluginsDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new ManifestError(file, [`cannot read it (${(error as Error).message})`], {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(file, [`invalid JSON (${(error as Error).message})`], { cause: error });
  }
  return parseManifest(json, file);
}

/** Joins a directory and a relative module path (POSIX-style). */
export function joinPath(dir: string, relative: string): string {
  const clean = relative.replace(/^\.\//, "");
  return dir.endsWith("/") ? dir + clean : `${dir}/${clean}`;
}

/**
 * Resolves a manifest module path to a real absolute file path inside `pluginsDir`. Follows
 * symlinks and rejects any that lead outside the directory. Throws `RangeError` (escape) or
 * `TypeError` (not a file).
 */
export async function resolvePluginFile(pluginsDir: string, module: string): Promise<string> {
  const problem = modulePathProblem(module);
  if (problem !== undefined) throw new RangeError(`Cannot use plugin module: ${problem}`);
  const root = await Deno.realPath(pluginsDir);
  const real = await Deno.realPath(joinPath(pluginsDir, module));
  if (!real.startsWith(root.endsWith("/") ? root : root + "/")) {
    throw new RangeError(
      `Cannot use plugin module ${JSON.stringify(module)}: it resolves to ${real}, outside ${root}`,
    );
  }
  if (!/\.(ts|js)$/.test(real)) {
    throw new RangeError(
      `Cannot use plugin module ${JSON.stringify(module)}: target ${real} is not a .ts or .js file`,
    );
  }
  const info = await Deno.stat(real);
  if (!info.isFile) {
    throw new TypeError(`Cannot use plugin module ${JSON.stringify(module)}: not a file`);
  }
  return real;
}

/**
 * Whether a file name in the plugins directory is a scorer candidate for discovery: `.ts`/`.js`,
 * not a test, declaration or `_private` file.
 */
export function isScorerFileName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*\.(ts|js)$/.test(name) && !/_test\.(ts|js)$/.test(name) &&
    !name.endsWith(".d.ts");
}
