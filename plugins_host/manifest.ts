/**
 * `plugins/manifest.json`: which scorer serves which channel, with options and limits, the
 * fallback scorer, and whether unlisted scorer files are discovered.
 *
 * @module
 */
import { CHANNEL_PATTERN, SCORER_NAME_PATTERN } from "../sdk/contract.ts";

/** The manifest file name inside the plugins directory. */
export const MANIFEST_FILE = "manifest.json";

/** Limits of one plugin sandbox: V8 heap cap (MiB) and base deadline of one call (ms). */
export interface PluginLimits {
  readonly memoryMb: number;
  readonly deadlineMs: number;
}

/** Defaults: a heap roomy for a scorer with lookup tables, small beside the host. */
export const DEFAULT_LIMITS: PluginLimits = Object.freeze({ memoryMb: 64, deadlineMs: 250 });
/** Deadline added per order in a call, so a large batch of a fast scorer is not cut off. */
export const PER_ORDER_BUDGET_MS = 0.05;
/** Accepted ranges: below 16 MiB a Deno isolate does not start; deadlines are whole ms. */
const LIMIT_RANGES = { memoryMb: [16, 4096], deadlineMs: [10, 60_000] } as const;

/** A plugin the manifest lists: the fallback, or (with name and channel) a scorer. */
export interface ManifestPlugin {
  /** Path relative to the plugins directory, e.g. `./web.ts`. */
  readonly module: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly limits: PluginLimits;
}

/** One scorer listed in the manifest. */
export interface ManifestScorer extends ManifestPlugin {
  readonly name: string;
  readonly channel: string;
  readonly enabled: boolean;
}

/** A validated manifest. The fallback scores unknown channels and orders whose scorer failed. */
export interface Manifest {
  readonly version: 1;
  readonly discovery: boolean;
  readonly scorers: readonly ManifestScorer[];
  readonly fallback: ManifestPlugin;
}

/** Thrown when the manifest is unreadable or invalid; `problems` names every problem. */
export class ManifestError extends TypeError {
  /** Every problem found, each naming the entry (`scorers[1] "web"`). */
  readonly problems: readonly string[];
  /**
   * @param file The manifest file.
   * @param problems Every problem found.
   * @param options Standard error options (`cause`).
   */
  constructor(file: string, problems: readonly string[], options?: ErrorOptions) {
    super(`Cannot load plugin manifest ${file}: ${problems.join("; ")}`, options);
    this.name = "ManifestError";
    this.problems = Object.freeze([...problems]);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const SCRIPT = /\.(ts|js)$/;
const TEST_OR_DECLARATION = /_test\.(ts|js)$|\.d\.ts$/;

/**
 * The problem with a manifest module path, if any: it must be relative, stay inside the
 * directory (no `..`, no absolute path, no backslash) and name a `.ts` or `.js` file that is not
 * a test. Symlinks are checked by {@linkcode resolvePluginFile}.
 */
function modulePathProblem(module: string): string | undefined {
  const got = `got ${JSON.stringify(module)}`;
  if (module.includes("\0") || module.includes("\\")) {
    return `module must be a plain relative path, ${got}`;
  }
  if (module.startsWith("/") || /^[A-Za-z]:/.test(module) || module.includes("://")) {
    return `module must be a relative path like "./web.ts", ${got}`;
  }
  if (module.split("/").includes("..")) return `module must stay inside plugins/ (no ".."), ${got}`;
  if (!SCRIPT.test(module) || module.endsWith(".d.ts")) {
    return `module must be a .ts or .js file, ${got}`;
  }
  if (TEST_OR_DECLARATION.test(module)) return `module must not be a test file, ${got}`;
  return undefined;
}

const LIMIT_FIELDS = ["memoryMb", "deadlineMs"] as const;
const PLUGIN_FIELDS = ["module", "options", ...LIMIT_FIELDS];
const SCORER_FIELDS = ["name", "channel", "enabled", ...PLUGIN_FIELDS];
const SCORER_PATTERNS = [["name", SCORER_NAME_PATTERN], ["channel", CHANNEL_PATTERN]] as const;

/** Checks what scorer entries and the fallback share: known fields, module, options, limits. */
function parsePlugin(
  raw: Record<string, unknown>,
  label: string,
  fields: readonly string[],
  problems: string[],
): ManifestPlugin {
  for (const key of Object.keys(raw)) {
    if (!fields.includes(key)) problems.push(`${label}: "${key}" is not a known field`);
  }
  const { module, options } = raw;
  const pathProblem = typeof module === "string"
    ? modulePathProblem(module)
    : `"module" must be a string path like "./web.ts"`;
  if (pathProblem !== undefined) problems.push(`${label}: ${pathProblem}`);
  if (options !== undefined && !isRecord(options)) {
    problems.push(`${label}: "options" must be an object`);
  }
  const limits = { ...DEFAULT_LIMITS };
  for (const key of LIMIT_FIELDS) {
    const value = raw[key];
    const [min, max] = LIMIT_RANGES[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${label}: "${key}" must be an integer from ${min} to ${max}`);
    } else limits[key] = value;
  }
  return {
    module: module as string,
    options: Object.freeze({ ...(options as Record<string, unknown> | undefined) }),
    limits: Object.freeze(limits),
  };
}

/** Validates one `scorers[]` entry; `seen` holds the labels of the names and channels so far. */
function parseScorer(
  raw: unknown,
  index: number,
  seen: { name: Map<string, string>; channel: Map<string, string> },
  problems: string[],
): ManifestScorer | undefined {
  if (!isRecord(raw)) {
    problems.push(`scorers[${index}]: must be an object`);
    return undefined;
  }
  const { name, channel, enabled = true } = raw;
  const label = typeof name === "string"
    ? `scorers[${index}] ${JSON.stringify(name)}`
    : `scorers[${index}]`;
  const before = problems.length;
  const plugin = parsePlugin(raw, label, SCORER_FIELDS, problems);
  for (const [field, pattern] of SCORER_PATTERNS) {
    const value = raw[field];
    if (typeof value !== "string" || !pattern.test(value)) {
      problems.push(`${label}: "${field}" must match ${pattern}`);
    }
  }
  if (typeof enabled !== "boolean") problems.push(`${label}: "enabled" must be true or false`);
  for (const [field, verb] of [["channel", "served"], ["name", "used"]] as const) {
    const value = raw[field];
    if (typeof value !== "string") continue;
    const previous = seen[field].get(value);
    if (previous !== undefined) {
      problems.push(`${label}: ${field} "${value}" is already ${verb} by ${previous}`);
    } else seen[field].set(value, label);
  }
  if (problems.length > before) return undefined;
  return Object.freeze({ ...plugin, name, channel, enabled } as ManifestScorer);
}

/**
 * Validates parsed manifest JSON and returns a frozen {@linkcode Manifest}; throws
 * {@linkcode ManifestError} listing every problem (unknown fields, bad paths, duplicate channels
 * or names). `file` is only used in messages.
 */
export function parseManifest(value: unknown, file = MANIFEST_FILE): Manifest {
  if (!isRecord(value)) throw new ManifestError(file, ["top level must be a JSON object"]);
  const problems: string[] = [];
  const top = ["$schema", "version", "discovery", "scorers", "fallback"];
  for (const key of Object.keys(value)) {
    if (!top.includes(key)) problems.push(`"${key}" is not a known field`);
  }
  if (value.$schema !== undefined && typeof value.$schema !== "string") {
    problems.push(`"$schema" must be a string`);
  }
  if (value.version !== 1) {
    problems.push(`"version" must be 1, got ${JSON.stringify(value.version)}`);
  }
  const { discovery = true } = value;
  if (typeof discovery !== "boolean") problems.push(`"discovery" must be true or false`);
  const scorers: ManifestScorer[] = [];
  if (!Array.isArray(value.scorers)) problems.push(`"scorers" must be an array`);
  else {
    const seen = { name: new Map(), channel: new Map() };
    value.scorers.forEach((raw: unknown, index: number) => {
      const scorer = parseScorer(raw, index, seen, problems);
      if (scorer !== undefined) scorers.push(scorer);
    });
  }
  if (!isRecord(value.fallback)) {
    problems.push(`"fallback" must be an object like { "module": "./default.ts", "options": {} }`);
  }
  const fallback = isRecord(value.fallback)
    ? parsePlugin(value.fallback, "fallback", PLUGIN_FIELDS, problems)
    : undefined;
  if (problems.length > 0 || fallback === undefined) throw new ManifestError(file, problems);
  return Object.freeze({
    version: 1,
    discovery: discovery as boolean,
    scorers: Object.freeze(scorers),
    fallback: Object.freeze(fallback),
  });
}

/** Reads and validates `<pluginsDir>/manifest.json`. Throws {@linkcode ManifestError}. */
export async function loadManifest(pluginsDir: string): Promise<Manifest> {
  const file = joinPath(pluginsDir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(file));
  } catch (error) {
    const what = error instanceof SyntaxError ? "invalid JSON" : "cannot read it";
    throw new ManifestError(file, [`${what} (${(error as Error).message})`], { cause: error });
  }
  return parseManifest(json, file);
}

/** Joins a directory and a relative module path (POSIX-style). */
export function joinPath(dir: string, relative: string): string {
  const clean = relative.replace(/^\.\//, "");
  return dir.endsWith("/") ? dir + clean : `${dir}/${clean}`;
}

/**
 * Resolves a manifest module path to the real absolute path of a file inside `pluginsDir`,
 * following symlinks. Throws `RangeError` for a path or a symlink target outside the directory
 * or not a `.ts`/`.js` file, `TypeError` for a target that is not a file.
 */
export async function resolvePluginFile(pluginsDir: string, module: string): Promise<string> {
  const fail = (why: string) => `Cannot use plugin module ${JSON.stringify(module)}: ${why}`;
  const problem = modulePathProblem(module);
  if (problem !== undefined) throw new RangeError(`Cannot use plugin module: ${problem}`);
  const root = await Deno.realPath(pluginsDir);
  const real = await Deno.realPath(joinPath(pluginsDir, module));
  if (!real.startsWith(root.endsWith("/") ? root : root + "/")) {
    throw new RangeError(fail(`it resolves to ${real}, outside ${root}`));
  }
  if (!SCRIPT.test(real)) throw new RangeError(fail(`target ${real} is not a .ts or .js file`));
  if (!(await Deno.stat(real)).isFile) throw new TypeError(fail("not a file"));
  return real;
}

/** Whether a file in the plugins directory is a scorer candidate for discovery. */
export function isScorerFileName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*\.(ts|js)$/.test(name) && !TEST_OR_DECLARATION.test(name);
}
