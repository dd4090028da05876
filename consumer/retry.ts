/**
 * Waiting inside a consumer-group member: sleeps that keep heartbeating and end on stop, and
 * work that heartbeats while it runs (backoff and plain delays: core/async.ts).
 *
 * kafkajs heartbeats only when asked from inside `eachBatch`; every wait here asks, so a member
 * waiting out an outage longer than the session timeout keeps its partitions.
 *
 * @module
 */
import { delay } from "../core/async.ts";

export { backoffDelay, type BackoffOptions } from "../core/async.ts";

/** Thrown into a retry loop when the member stops; never escapes eachBatch. */
export class StopRequested extends Error {
  override name = "StopRequested";
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
    await delay(slice, signal);
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
