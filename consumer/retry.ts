/**
 * Waiting inside a consumer-group member: capped backoff, sleeps that keep heartbeating and end
 * on stop, work that heartbeats while it runs, and the back-off-then-probe loop of a sink outage.
 *
 * kafkajs heartbeats only when asked from inside `eachBatch`; every wait here asks, so a member
 * waiting out an outage longer than the session timeout keeps its partitions.
 *
 * @module
 */

/** Capped exponential backoff with full jitter. */
export interface BackoffOptions {
  /** First delay, ms (default 100). */
  readonly initialMs?: number;
  /**
   * Cap, ms (default 2000): bounds how long after a sink returns the consumer notices (one probe
   * or retry per cap interval against a failing sink is cheap).
   */
  readonly maxMs?: number;
}

/**
 * The delay before retry `attempt` (1-based): a random value in [cap/2, cap] where
 * cap = min(maxMs, initialMs * 2^(attempt-1)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay } from "./retry.ts";
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

/** Thrown into a retry loop when the member stops; never escapes eachBatch. */
export class StopRequested extends Error {
  override name = "StopRequested";
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (without throwing).
 *
 * @example
 * ```ts
 * import { abortableDelay } from "./retry.ts";
 * const stop = new AbortController();
 * stop.abort();
 * await abortableDelay(60_000, stop.signal); // returns at once
 * ```
 */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer: ReturnType<typeof setTimeout> = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Sleeps `ms`, heartbeating at least every 500 ms; throws {@linkcode StopRequested} when
 * `signal` aborts. A heartbeat that throws (a rebalance) ends the sleep with that error: let
 * kafkajs rejoin; nothing past a failure is committed.
 */
export async function heartbeatingSleep(
  ms: number,
  heartbeat: () => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (signal.aborted) throw new StopRequested("stop requested");
    await heartbeat();
    const slice = Math.min(500, until - Date.now());
    if (slice <= 0) break;
    await abortableDelay(slice, signal);
  }
}

/**
 * Runs `work` while heartbeating every second. A sink write, probe or DLQ send that stalls past
 * the session timeout would otherwise get the member evicted (a rebalance, and every in-flight
 * record processed twice). A heartbeat failure (a rebalance) is rethrown once the work is over:
 * nothing in flight is abandoned half-done.
 */
export async function heartbeating<T>(
  work: () => Promise<T>,
  heartbeat: () => Promise<void>,
): Promise<T> {
  let failure: { readonly error: unknown } | undefined;
  let busy = false;
  const timer: ReturnType<typeof setInterval> = setInterval(() => {
    if (busy || failure !== undefined) return;
    busy = true;
    heartbeat().catch((error) => failure ??= { error }).finally(() => busy = false);
  }, 1000);
  let result: T;
  try {
    result = await work();
  } finally {
    clearInterval(timer);
  }
  if (failure !== undefined) throw failure.error;
  return result;
}
