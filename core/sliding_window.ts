/**
 * `SlidingWindowRate`: events per second over a sliding window, in fixed memory.
 *
 * @module
 */

import { checkMetricOptions, type Metric, type MetricSnapshot } from "./_metric.ts";

/** Options of {@link SlidingWindowRate}. */
export interface SlidingWindowOptions {
  /** Metric name when registered (rendered as a gauge). Default `orderflow_rate`. */
  readonly name?: string;
  /** Help text. */
  readonly help?: string;
  /** Window length, ms. Default 30 000. Must be a multiple of `bucketMs`. */
  readonly windowMs?: number;
  /** Bucket length, ms. Default 1 000. */
  readonly bucketMs?: number;
  /** Start time, epoch ms (default `Date.now()`); the rate never averages over time before it. */
  readonly now?: number;
}

/**
 * Counts events in a ring of `windowMs / bucketMs` buckets aligned to multiples of `bucketMs`.
 * Every method takes `now` (epoch ms, default `Date.now()`), so tests need no sleeping.
 *
 * `rate(now)` = events in the window ending at `now` ÷ the time that window covers, in seconds.
 * The window is the current (partial) bucket plus the previous `n − 1` whole buckets, and it
 * never reaches back before the start time, so the first seconds after start are not diluted
 * by a 30 s denominator; the covered time is at least one bucket, so one event right after
 * start reads as 1/s, not as a spike. Events recorded with a `now` older than the window are
 * outside it and not counted.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { SlidingWindowRate } from "./sliding_window.ts";
 * const t0 = 1_000_000;
 * const rate = new SlidingWindowRate({ now: t0 });
 * for (let s = 0; s < 60; s++) rate.add(10, t0 + s * 1000); // 10 events per second for 60 s
 * equal(rate.count(t0 + 60_000), 290); // buckets 31..59 s plus the empty current one
 * equal(rate.count(t0 + 59_500), 300);
 * equal(rate.rate(t0 + 60_000), 10);
 * equal(rate.rate(t0 + 200_000), 0);
 * ```
 */
export class SlidingWindowRate implements Metric {
  /** Metric name when registered. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Window length, ms. */
  readonly windowMs: number;
  /** Bucket length, ms. */
  readonly bucketMs: number;
  readonly #start: number;
  readonly #counts: Float64Array;
  readonly #epochs: Float64Array;

  /** Creates the ring; RangeError for a non-positive or misaligned window/bucket. */
  constructor(options: SlidingWindowOptions = {}) {
    this.name = options.name ?? "orderflow_rate";
    this.help = options.help ?? "Events per second over a sliding window.";
    checkMetricOptions("sliding window rate", this);
    const windowMs = options.windowMs ?? 30_000;
    const bucketMs = options.bucketMs ?? 1_000;
    if (
      !Number.isSafeInteger(windowMs) || !Number.isSafeInteger(bucketMs) || bucketMs < 1 ||
      windowMs < bucketMs || windowMs % bucketMs !== 0
    ) {
      throw new RangeError(
        `Cannot create sliding window rate: windowMs (${windowMs}) must be a positive multiple of bucketMs (${bucketMs})`,
      );
    }
    const start = options.now ?? Date.now();
    checkNow(start);
    this.windowMs = windowMs;
    this.bucketMs = bucketMs;
    this.#start = start;
    const n = windowMs / bucketMs;
    this.#counts = new Float64Array(n);
    this.#epochs = new Float64Array(n).fill(-1);
  }

  /** Records `count` events (default 1, finite and >= 0) at `now`. */
  add(count = 1, now: number = Date.now()): void {
    if (typeof count !== "number" || !(count >= 0) || count === Infinity) {
      throw new RangeError(
        `Cannot add to sliding window rate: count must be finite and >= 0, got ${count}`,
      );
    }
    checkNow(now);
    const epoch = Math.floor(now / this.bucketMs);
    const slot = epoch % this.#counts.length;
    const current = this.#epochs[slot]!;
    if (current === epoch) {
      this.#counts[slot]! += count;
    } else if (current < epoch) {
      this.#epochs[slot] = epoch;
      this.#counts[slot] = count;
    }
    // current > epoch: the event is a full window older than what this slot holds; not counted.
  }

  /** Events in the window ending at `now`. */
  count(now: number = Date.now()): number {
    checkNow(now);
    const epoch = Math.floor(now / this.bucketMs);
    const oldest = epoch - this.#counts.length + 1;
    let total = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      const e = this.#epochs[i]!;
      if (e >= oldest && e <= epoch) total += this.#counts[i]!;
    }
    return total;
  }

  /** Events per second over the window ending at `now` (see the class doc for the denominator). */
  rate(now: number = Date.now()): number {
    const total = this.count(now);
    if (total === 0) return 0;
    const epoch = Math.floor(now / this.bucketMs);
    const windowStart = (epoch - this.#counts.length + 1) * this.bucketMs;
    const covered = Math.max(this.bucketMs, now - Math.max(windowStart, this.#start));
    return total / (covered / 1000);
  }

  /** Snapshot as a gauge holding `rate(now)`. */
  collect(now: number = Date.now()): MetricSnapshot {
    return {
      name: this.name,
      help: this.help,
      type: "gauge",
      samples: [{ suffix: "", labels: [], value: this.rate(now) }],
    };
  }
}

function checkNow(now: number): void {
  if (typeof now !== "number" || !Number.isFinite(now) || now < 0) {
    throw new RangeError(`Cannot use time ${now}: now must be a finite epoch ms >= 0`);
  }
}
