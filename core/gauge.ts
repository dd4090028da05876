/**
 * `Gauge`: a value that goes up and down, optionally split by labels, optionally computed at
 * collection time.
 *
 * @module
 */

import {
  LabeledMetric,
  type LabeledMetricOptions,
  type Labels,
  type MetricSnapshot,
} from "./_metric.ts";

/** Options of {@link Gauge}. */
export interface GaugeOptions extends LabeledMetricOptions {
  /**
   * Called on every `collect()` (i.e. every scrape) before the snapshot is taken, to `set()`
   * values that are cheaper to read on demand (queue depth, paused partitions).
   */
  readonly collect?: (gauge: Gauge) => void;
}

/**
 * A gauge. `set`, `inc` and `dec` take any number except NaN (RangeError).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Gauge } from "./gauge.ts";
 * const inFlight = new Gauge({ name: "orderflow_in_flight", help: "Records in flight." });
 * inFlight.inc(5);
 * inFlight.dec(2);
 * equal(inFlight.get(), 3);
 * let depth = 7;
 * const queue = new Gauge({ name: "orderflow_queue", help: "Queue.", collect: (g) => g.set(depth) });
 * equal(queue.collect().samples[0]?.value, 7);
 * ```
 */
export class Gauge extends LabeledMetric {
  readonly #collect: ((gauge: Gauge) => void) | undefined;

  /** Creates a gauge; throws TypeError for an invalid name or label names. */
  constructor(options: GaugeOptions) {
    super("gauge", options);
    this.#collect = options.collect;
  }

  /** Sets the value of a label set. */
  set(value: number, labels?: Labels): void {
    this.series(labels).value = this.#check(value);
  }

  /** Adds `by` (default 1). */
  inc(by = 1, labels?: Labels): void {
    this.series(labels).value += this.#check(by);
  }

  /** Subtracts `by` (default 1). */
  dec(by = 1, labels?: Labels): void {
    this.series(labels).value -= this.#check(by);
  }

  /** Runs the `collect` callback, then snapshots. */
  collect(_now?: number): MetricSnapshot {
    this.#collect?.(this);
    return { name: this.name, help: this.help, type: "gauge", samples: this.samples() };
  }

  #check(value: number): number {
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new RangeError(
        `Cannot update gauge "${this.name}": value must be a number, got ${value}`,
      );
    }
    return value;
  }
}
