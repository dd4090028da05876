/**
 * Failure counters per plugin file and reason, logged at most once per interval per key; and the
 * plugins directory's watch.
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

/** How often the plugins directory is scanned for changes. */
const POLL_MS = 500;
/** Most entries and deepest level the scan visits (the rest is not watched). */
const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 16;

/**
 * What the tree under `dir` looks like to `lstat`: path, inode, size, mtime and ctime of every
 * entry. `lstat` and `readDir` never open an entry, so a FIFO or device file cannot block them.
 */
async function treeSignature(dir: string): Promise<string> {
  const parts: string[] = [];
  const pending: [string, number][] = [[dir, 0]];
  while (pending.length > 0 && parts.length < MAX_ENTRIES) {
    const [path, depth] = pending.pop()!;
    const entries = await Array.fromAsync(Deno.readDir(path)).catch(() => undefined);
    if (entries === undefined) {
      parts.push(`${path} unreadable`);
      continue;
    }
    for (const entry of entries) {
      const full = `${path}/${entry.name}`;
      const i = await Deno.lstat(full).catch(() => undefined);
      parts.push(`${full} ${i?.ino} ${i?.size} ${i?.mtime?.getTime()} ${i?.ctime?.getTime()}`);
      if (entry.isDirectory && depth + 1 < MAX_DEPTH) pending.push([full, depth + 1]);
    }
  }
  return parts.sort().join("\n");
}

/**
 * Calls `onChange` (debounced by `debounceMs`) when anything under `dir` changes from what it
 * is when this resolves; resolves with a function that stops watching. Recursive: a symlink
 * added or removed in a subdirectory decides whether plugins may start (`dir_checks.ts`). Polls
 * every `POLL_MS` (`lstat` of each entry: cheap for a plugins directory) instead of using
 * `Deno.watchFs`: a FIFO in the directory blocks Deno's watcher thread in open(2) for good (no
 * more events, and closing the watcher or exiting the process hangs), and anyone who can write
 * the plugins directory could create one.
 */
export async function watchDir(
  dir: string,
  debounceMs: number,
  onChange: () => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let last: string | undefined = await treeSignature(dir).catch(() => undefined);
  let poll: ReturnType<typeof setTimeout> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let scanning: Promise<void> = Promise.resolve();
  const next = () => {
    if (!stopped) poll = setTimeout(scan, POLL_MS);
  };
  const scan = () => {
    scanning = treeSignature(dir).then((signature) => {
      if (stopped) return;
      if (last !== undefined && signature !== last) {
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      }
      last = signature;
    }, () => undefined).finally(next);
  };
  next();
  return async () => {
    stopped = true;
    clearTimeout(poll);
    clearTimeout(timer);
    await scanning;
  };
}
