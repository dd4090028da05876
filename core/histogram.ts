/**
 * `LatencyHistogram`: Prometheus-style cumulative buckets plus bounded-memory quantiles.
 *
 * @module
 */

import {
  checkMetricOptions,
  type Metric,
  type MetricOptions,
  type MetricSample,
  type MetricSnapshot,
} from "./_metric.ts";

/** Default Prometheus bucket upper bounds, in milliseconds (`+Inf` is implicit). */
export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  1,
  2,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1_000,
  2_500,
  5_000,
  10_000,
  30_000,
  60_000,
  120_000,
]);

/** Growth factor of the fine quantile buckets. */
const GAMMA = 1.02;
const LN_GAMMA = Math.log(GAMMA);
/** Smallest value tracked with relative accuracy, ms; smaller values count as 0. */
const MIN_TRACKED_MS = 0.01;
/** Largest value tracked with relative accuracy, ms (about 2.8 hours). */
const MAX_TRACKED_MS = 1e7;
const MIN_INDEX = Math.ceil(Math.log(MIN_TRACKED_MS) / LN_GAMMA);
const MAX_INDEX = Math.ceil(Math.log(MAX_TRACKED_MS) / LN_GAMMA);

/**
 * Worst-case relative error of {@link LatencyHistogram.quantile} for values in
 * [0.01 ms, 10^7 ms]: `(γ − 1) / (γ + 1)` with γ = 1.02, just under 1%.
 */
export const QUANTILE_RELATIVE_ERROR: number = (GAMMA - 1) / (GAMMA + 1);

/** Options of {@link LatencyHistogram}. */
export interface HistogramOptions extends MetricOptions {
  /** Bucket upper bounds in ms, strictly increasing, finite. Default {@link DEFAULT_LATENCY_BUCKETS_MS}. */
  readonly buckets?: readonly number[];
}

/** Summary statistics from {@link LatencyHistogram.summary}. */
export interface LatencySummary {
  /** Observations. */
  readonly count: number;
  /** Sum of observations, ms. */
  readonly sum: number;
  /** Exact smallest observation (NaN when empty). */
  readonly min: number;
  /** Exact largest observation (NaN when empty). */
  readonly max: number;
  /** Estimated median (NaN when empty). */
  readonly p50: number;
  /** Estimated 95th percentile (NaN when empty). */
  readonly p95: number;
  /** Estimated 99th percentile (NaN when empty). */
  readonly p99: number;
}

/**
 * A latency histogram in milliseconds with fixed memory (about 9 KB) however many values it sees.
 *
 * It keeps two views: the coarse cumulative buckets Prometheus scrapes (`_bucket{le=...}`,
 * `_sum`, `_count`), and fine logarithmic buckets (DDSketch-style, growth γ = 1.02) for
 * quantiles. `quantile(q)` returns the nearest-rank quantile of the observed values within
 * {@link QUANTILE_RELATIVE_ERROR} (< 1%) relative error for values in [0.01 ms, 10^7 ms];
 * values below 0.01 ms count as 0, values above 10^7 ms are reported as the exact maximum.
 * Estimates are clamped to the exact min and max; ranks 1 and `count` return them exactly.
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { LatencyHistogram } from "./histogram.ts";
 * const h = new LatencyHistogram({ name: "orderflow_latency_ms", help: "End-to-end latency." });
 * for (let ms = 1; ms <= 100; ms++) h.observe(ms);
 * equal(h.count, 100);
 * equal(h.sum, 5050);
 * ok(Math.abs(h.quantile(0.95) - 95) <= 95 * 0.01);
 * equal(h.summary().max, 100);
 * ```
 */
export class LatencyHistogram implements Metric {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Bucket upper bounds in ms (without `+Inf`). */
  readonly buckets: readonly number[];
  readonly #bucketCounts: Float64Array;
  readonly #fine = new Float64Array(MAX_INDEX - MIN_INDEX + 1);
  #zero = 0;
  #overflow = 0;
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  /** Creates a histogram; throws TypeError/RangeError for invalid options. */
  constructor(options: HistogramOptions) {
    checkMetricOptions("histogram", options);
    this.name = options.name;
    this.help = options.help;
    const buckets = options.buckets ?? DEFAULT_LATENCY_BUCKETS_MS;
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      if (typeof b !== "number" || !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!)) {
        throw new RangeError(
          `Cannot create histogram "${this.name}": buckets must be finite and strictly increasing`,
        );
      }
    }
    this.buckets = Object.freeze([...buckets]);
    this.#bucketCounts = new Float64Array(buckets.length);
  }

  /** Observations so far. */
  get count(): number {
    return this.#count;
  }

  /** Sum of observations, ms. */
  get sum(): number {
    return this.#sum;
  }

  /** Records one latency in ms; must be finite and >= 0 (RangeError otherwise). */
  observe(ms: number): void {
    if (typeof ms !== "number" || !(ms >= 0) || ms === Infinity) {
      throw new RangeError(
        `Cannot observe in histogram "${this.name}": value must be finite and >= 0, got ${ms}`,
      );
    }
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
    const buckets = this.buckets;
    // Non-cumulative per bucket; cumulated when rendered.
    let i = 0;
    while (i < buckets.length && ms > buckets[i]!) i++;
    if (i < buckets.length) this.#bucketCounts[i]!++;
    if (ms < MIN_TRACKED_MS) this.#zero++;
    else if (ms > MAX_TRACKED_MS) this.#overflow++;
    else this.#fine[Math.ceil(Math.log(ms) / LN_GAMMA) - MIN_INDEX]!++;
  }

  /**
   * Estimated nearest-rank quantile (`q` in [0, 1], RangeError otherwise): the value at rank
   * `max(1, ceil(q * count))`. NaN when empty.
   */
  quantile(q: number): number {
    if (typeof q !== "number" || !(q >= 0 && q <= 1)) {
      throw new RangeError(`Cannot compute quantile: q must be in [0, 1], got ${q}`);
    }
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    if (rank === 1) return this.#min;
    if (rank === this.#count) return this.#max;
    let seen = this.#zero;
    let estimate = this.#max;
    if (seen >= rank) {
      estimate = 0;
    } else {
      const fine = this.#fine;
      for (let i = 0; i < fine.length; i++) {
        seen += fine[i]!;
        if (seen >= rank) {
          estimate = (2 * Math.pow(GAMMA, i + MIN_INDEX)) / (GAMMA + 1);
          break;
        }
      }
    }
    return Math.min(this.#max, Math.max(this.#min, estimate));
  }

  /** count, sum, exact min/max and estimated p50/p95/p99. */
  summary(): LatencySummary {
    const empty = this.#count === 0;
    return {
      count: this.#count,
      sum: this.#sum,
      min: empty ? NaN : this.#min,
      max: empty ? NaN : this.#max,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
    };
  }

  /** Forgets every observation. */
  reset(): void {
    this.#bucketCounts.fill(0);
    this.#fine.fill(0);
    this.#zero = 0;
    this.#overflow = 0;
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
  }

  /** Snapshot: cumulative `_bucket{le}` samples, `+Inf`, `_sum`, `_count`. */
  collect(_now?: number): MetricSnapshot {
    const samples: MetricSample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.#bucketCounts[i]!;
      samples.push({
        suffix: "_bucket",
        labels: [["le", String(this.buckets[i])]],
        value: cumulative,
      });
    }
    samples.push({ suffix: "_bucket", labels: [["le", "+Inf"]], value: this.#count });
    samples.push({ suffix: "_sum", labels: [], value: this.#sum });
    samples.push({ suffix: "_count", labels: [], value: this.#count });
    return { name: this.name, help: this.help, type: "histogram", samples };
  }
}
