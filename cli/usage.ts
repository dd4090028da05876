/**
 * Usage errors and exit codes, the same for every task (`produce`, `consume`, `check`, `demo`,
 * `query`, `schema`, `dlq`, `plugins`):
 *
 * - 0 success; `--help` prints the usage on stdout and exits 0.
 * - 1 runtime failure (a service unreachable, a check failed, records not delivered).
 * - 2 usage error: the command line or the settings are wrong, so nothing was tried. stderr gets
 *   `<task>: <what is wrong>`, a remedy when there is one, and `run with --help for usage`; no
 *   stack trace.
 * - 130 / 143 stopped by SIGINT / SIGTERM ({@linkcode SIGNAL_EXIT}).
 *
 * Flags are parsed before anything connects, so a bad flag never waits on a service.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SettingsError } from "../config/settings.ts";
import { writeAllSync } from "./process_io.ts";

/** The exit codes of every task. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });

/** Exit code after a stop by signal: the shell's 128 + signal number. */
export const SIGNAL_EXIT = Object.freeze({ SIGINT: 130, SIGTERM: 143 });

/** The last line of every usage error. */
export const HELP_HINT = "run with --help for usage";

/** A wrong command line or wrong settings: the task prints it and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** What to do about it, printed under the message (optional). */
  readonly remedy: string | undefined;
  constructor(message: string, options?: ErrorOptions & { readonly remedy?: string }) {
    super(message, options);
    this.remedy = options?.remedy;
  }
}

/**
 * The stderr text of a usage error: `<task>: <message>`, the remedy, the help hint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usageText, UsageError } from "./usage.ts";
 * assert.equal(
 *   usageText("demo", new UsageError("Invalid --count")),
 *   "demo: Invalid --count\nrun with --help for usage\n",
 * );
 * ```
 */
export function usageText(task: string, error: UsageError): string {
  return `${task}: ${error.message}\n${error.remedy === undefined ? "" : `${error.remedy}\n`}` +
    `${HELP_HINT}\n`;
}

/**
 * Runs a task's body and resolves with its exit code; a {@linkcode UsageError} thrown anywhere
 * in it is printed with {@linkcode usageText} and becomes exit 2. Other errors propagate (an
 * uncaught error is a runtime failure: Deno exits 1).
 */
export async function runTask(
  task: string,
  body: () => number | Promise<number>,
  stderr: (text: string) => void = (text) => writeAllSync(Deno.stderr, text),
): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(usageText(task, error));
    return EXIT.usage;
  }
}

/** Which flags a task takes; `-h`/`--help` is always one. */
export interface FlagSpec<S extends string, B extends string> {
  /** Flags with a value (`--count 5`, `--count=5`). */
  readonly string?: readonly S[];
  /** Flags without one (`--json`). */
  readonly boolean?: readonly B[];
  /** Accept `--no-<flag>` for the boolean flags (false). Default false. */
  readonly negatable?: boolean;
  /** Accept arguments that are not flags. Default false. */
  readonly positionals?: boolean;
}

/** What {@linkcode parseFlags} found. */
export interface ParsedFlags<S extends string, B extends string> {
  readonly values:
    & { readonly [K in S]?: string }
    & { readonly [K in B]?: boolean }
    & { readonly help?: boolean };
  readonly positionals: readonly string[];
}

/**
 * Parses `args` strictly (`node:util` parseArgs): an unknown flag, a missing value or an
 * unexpected argument throws a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags, UsageError } from "./usage.ts";
 * const { values } = parseFlags(["--count", "5", "--json"], {
 *   string: ["count"],
 *   boolean: ["json"],
 * });
 * assert.equal(values.count, "5");
 * assert.equal(values.json, true);
 * assert.throws(() => parseFlags(["--bogus"], {}), UsageError);
 * ```
 */
export function parseFlags<const S extends string = never, const B extends string = never>(
  args: readonly string[],
  spec: FlagSpec<S, B>,
): ParsedFlags<S, B> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const name of spec.string ?? []) options[name] = { type: "string" };
  for (const name of spec.boolean ?? []) options[name] = { type: "boolean" };
  try {
    const parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: spec.positionals ?? false,
      allowNegative: spec.negatable ?? false,
    });
    return {
      values: parsed.values as ParsedFlags<S, B>["values"],
      positionals: parsed.positionals,
    };
  } catch (error) {
    throw new UsageError(`Cannot parse arguments: ${(error as Error).message}`, { cause: error });
  }
}

/** Bounds of a number flag for {@linkcode numberFlag}. */
export interface NumberLimits {
  readonly min: number;
  readonly max?: number;
  readonly integer: boolean;
}

/**
 * The value of a number flag (undefined when not given), within `limits`; else a
 * {@linkcode UsageError} naming the flag, the text and the range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberFlag, UsageError } from "./usage.ts";
 * assert.equal(numberFlag("--rate", "2.5", { min: 0, integer: false }), 2.5);
 * assert.equal(numberFlag("--rate", undefined, { min: 0, integer: false }), undefined);
 * assert.throws(() => numberFlag("--count", "0", { min: 1, integer: true }), UsageError);
 * ```
 */
export function numberFlag(
  flag: string,
  text: string | undefined,
  limits: NumberLimits,
): number | undefined {
  if (text === undefined) return undefined;
  const value = text.trim() === "" ? Number.NaN : Number(text);
  const kind = limits.integer ? "an integer" : "a number";
  const range = limits.max === undefined ? `>= ${limits.min}` : `in ${limits.min}..${limits.max}`;
  if (
    !Number.isFinite(value) || (limits.integer && !Number.isInteger(value)) ||
    value < limits.min || (limits.max !== undefined && value > limits.max)
  ) {
    throw new UsageError(`Invalid ${flag}: "${text}" is not ${kind} ${range}`);
  }
  return value;
}

/**
 * Runs `load` (a settings loader); a `SettingsError` becomes a {@linkcode UsageError} (exit 2)
 * with the remedy to fix the environment.
 */
export function settingsOrUsage<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    throw new UsageError(error.message, {
      cause: error,
      remedy: "Fix the environment (or .env) and run again.",
    });
  }
}
