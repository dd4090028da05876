/**
 * Failure counters per plugin file and reason, logged at most once per interval per key.
 *
 * @module
 */
import type { FailureReason, ScoringMetrics } from "./types.ts";

/**
 * Counts failures and logs them, one line per file+reason per `intervalMs` (with the count of
 * the ones not logged since), so a failing plugin cannot flood the host's log through its errors.
 *
 * @example
 * ```ts
 * import { FailureLog } from "./failures.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = new FailureLog((l) => lines.push(l), 60_000);
 * log.count("web", "/p/web.ts", "threw", "boom", 3);
 * log.count("web", "/p/web.ts", "threw", "boom", 1);
 * assert.equal(log.list()[0]?.count, 4);
 * assert.equal(lines.length, 1);
 * ```
 */
export class FailureLog {
  #log: (line: string) => void;
  #intervalMs: number;
  #counts = new Map<
    string,
    { scorer: string; file: string; reason: FailureReason; count: number }
  >();
  #logged = new Map<string, { at: number; suppressed: number }>();

  /**
   * @param log Where lines go.
   * @param intervalMs Least time between two lines of one file+reason.
   */
  constructor(log: (line: string) => void, intervalMs: number) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** Adds `n` failures of `scorer` (`file`) for `reason`. */
  count(scorer: string, file: string, reason: FailureReason, message: string, n: number): void {
    const key = `${file}\0${reason}`;
    const counter = this.#counts.get(key) ?? { scorer, file, reason, count: 0 };
    counter.count += n;
    this.#counts.set(key, counter);
    const now = Date.now();
    const logged = this.#logged.get(key);
    if (logged !== undefined && now - logged.at < this.#intervalMs) {
      logged.suppressed += n;
      return;
    }
    const more = logged?.suppressed ? ` (${logged.suppressed} more since last report)` : "";
    this.#logged.set(key, { at: now, suppressed: 0 });
    this.#log(`scorer ${scorer} (${file}) failed: ${reason}: ${message}${more}`);
  }

  /** Every counter, frozen. */
  list(): ScoringMetrics["failures"] {
    return Object.freeze([...this.#counts.values()].map((f) => Object.freeze({ ...f })));
  }
}

/**
 * Calls `onChange` (debounced by `debounceMs`) when anything in `dir` changes; returns a
 * function that stops watching and resolves once the watcher is closed. Recursive: a symlink
 * added or removed in a subdirectory decides whether plugins may start (`dir_checks.ts`).
 */
export function watchDir(
  dir: string,
  debounceMs: number,
  onChange: () => void,
): () => Promise<void> {
  const watcher = Deno.watchFs(dir, { recursive: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = (async () => {
    for await (const event of watcher) {
      if (event.kind === "access") continue;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    }
  })();
  return async () => {
    clearTimeout(timer);
    watcher.close();
    await loop;
  };
}
