/**
 * The checks of `deno task check`: one row per check, each with its own timeout, a remedy under
 * every failure, no secret in any row.
 *
 * @module
 */
import { deadline } from "../core/async.ts";
import { redact, secretsOf, type Settings } from "../config/settings.ts";
import { checkKafka } from "./check_kafka.ts";
import { checkPlugins } from "./check_plugins.ts";
import { checkCos, checkLocalDir } from "./check_storage.ts";

/** Outcome of one check. `WARN` marks an optional check that failed; it does not fail the run. */
export type CheckStatus = "OK" | "FAIL" | "WARN" | "SKIP";

/** One row of the check table. */
export interface CheckResult {
  readonly check: string;
  readonly target: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly remedy?: string;
  readonly durationMs: number;
}

/** Options for {@linkcode runChecks}. */
export interface RunChecksOptions {
  /** Upper bound for each check in ms. Default 10000. */
  readonly timeoutMs?: number;
}

/** Thrown when a check does not finish within its time budget. */
class CheckTimeoutError extends Error {
  override name = "TimeoutError";
}

function withTimeout<T>(ms: number, what: string, run: () => Promise<T>): Promise<T> {
  return deadline(run(), ms, () => new CheckTimeoutError(`${what} timed out after ${ms} ms`));
}

/**
 * Runs every check against `settings` and returns one row per check, in order. Never throws
 * for a failing check (it becomes a `FAIL` row); rows contain no secrets.
 */
export async function runChecks(
  settings: Settings,
  options: RunChecksOptions = {},
): Promise<readonly CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const results: CheckResult[] = [];
  const secrets = secretsOf(settings);
  const push = (row: CheckResult) =>
    results.push(Object.freeze({
      ...row,
      detail: redact(row.detail, secrets),
      ...(row.remedy !== undefined ? { remedy: redact(row.remedy, secrets) } : {}),
    }));
  const timed = async (
    check: string,
    target: string,
    run: () => Promise<string>,
    describe: (err: unknown) => { message: string; remedy: string },
    failStatus: CheckStatus = "FAIL",
  ): Promise<boolean> => {
    const started = performance.now();
    try {
      const detail = await withTimeout(timeoutMs, check, run);
      push({ check, target, status: "OK", detail, durationMs: elapsed(started) });
      return true;
    } catch (err) {
      const { message, remedy } = describe(err);
      push({
        check,
        target,
        status: failStatus,
        detail: message,
        remedy,
        durationMs: elapsed(started),
      });
      return false;
    }
  };

  await checkKafka(settings, timeoutMs, timed, push);
  if (settings.sink.kind === "local") await checkLocalDir(settings.sink.dir, timed);
  else await checkCos(settings, timed);
  await checkPlugins(settings.pluginsDir, timeoutMs, push);
  return Object.freeze(results);
}

/** Runs one check with the timeout and records its row; true when it passed. */
export type Timed = (
  check: string,
  target: string,
  run: () => Promise<string>,
  describe: (err: unknown) => { message: string; remedy: string },
  failStatus?: CheckStatus,
) => Promise<boolean>;

/** Whole milliseconds since `started` (a `performance.now()`). */
export function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
