/**
 * The async helpers `@std/async` would give (out of reach here): deadlines, abortable delays,
 * bounded concurrency and capped backoff. Timers only, no I/O; every helper clears its timer.
 *
 * @module
 */

/**
 * Resolves with `work`'s value, or with `fallback` once `ms` have passed first. `work` goes on
 * running; a caller that gives up on it should handle its later rejection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { settleWithin } from "./async.ts";
 * assert.equal(await settleWithin(new Promise(() => {}), 10, "late"), "late");
 * assert.equal(await settleWithin(Promise.resolve(1), 1000, "late"), 1);
 * ```
 */
export function settleWithin<T, U>(work: Promise<T>, ms: number, fallback: U): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(fallback), Math.max(0, ms));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Resolves or rejects as `work` does, or rejects with `makeError()` once `ms` have passed first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deadline } from "./async.ts";
 * await assert.rejects(
 *   deadline(new Promise(() => {}), 10, () => new RangeError("too slow")),
 *   /too slow/,
 * );
 * ```
 */
export function deadline<T>(work: Promise<T>, ms: number, makeError: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(makeError()), Math.max(0, ms));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects).
 *
 * @example
 * ```ts
 * import { delay } from "./async.ts";
 * const stop = new AbortController();
 * stop.abort();
 * await delay(60_000, stop.signal); // returns at once
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer: ReturnType<typeof setTimeout> = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `task` over `items` with at most `limit` in flight, starting them in input order; rejects
 * with the first task's rejection (after the lanes already running have finished their item).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forEachBounded } from "./async.ts";
 * let running = 0, most = 0;
 * await forEachBounded([1, 2, 3, 4, 5], 2, async () => {
 *   most = Math.max(most, ++running);
 *   await new Promise((r) => setTimeout(r, 1));
 *   running--;
 * });
 * assert.equal(most, 2);
 * ```
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  });
  await Promise.all(lanes);
}

/** Capped exponential backoff with full jitter. */
export interface BackoffOptions {
  /** First delay, ms (default 100). */
  readonly initialMs?: number;
  /** Cap, ms (default 2000). */
  readonly maxMs?: number;
}

/**
 * The delay before retry `attempt` (1-based): a random value in [cap/2, cap] where
 * cap = min(maxMs, initialMs * 2^(attempt-1)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay } from "./async.ts";
 * assert.ok(backoffDelay(1, {}, () => 1) === 100);
 * assert.ok(backoffDelay(30, {}, () => 1) === 2000);
 * assert.ok(backoffDelay(30, {}, () => 0) === 1000);
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 2000;
  const cap = Math.min(max, initial * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(cap / 2 + (cap / 2) * random());
}
