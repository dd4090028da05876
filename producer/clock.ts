/**
 * The clock the producer's timing code runs on, injectable so tests can drive time by hand.
 *
 * @module
 */

/** Handle of a scheduled callback. */
export type TimerHandle = ReturnType<typeof setTimeout>;

/** Time source and timers; {@linkcode systemClock} in production, a fake one in unit tests. */
export interface Clock {
  /** Milliseconds since some fixed origin (monotonic in production). */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancel a callback scheduled with {@linkcode Clock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and the global timers. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle),
});

/**
 * Resolve after `ms` on `clock`, or early (without rejecting) when `signal` aborts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sleep, systemClock } from "./clock.ts";
 * const ac = new AbortController();
 * ac.abort();
 * const t0 = Date.now();
 * await sleep(systemClock, 10_000, ac.signal);
 * assert.ok(Date.now() - t0 < 1000);
 * ```
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimeout(handle);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const handle = clock.setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}
