/**
 * `Gauge`: a value that goes up and down, optionally split by labels, optionally computed at
 * collection time.
 *
 * @module
 */

import {
  checkLabelNames,
  checkMetricOptions,
  LabeledValues,
  type Labels,
  type Metric,
  type MetricSnapshot,
} from "./_metric.ts";
import type { LabeledMetricOptions } from "./counter.ts";

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
export class Gauge implements Metric {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Declared label names. */
  readonly labelNames: readonly string[];
  readonly #values: LabeledValues;
  readonly #collect: ((gauge: Gauge) => void) | undefined;

  /** Creates a gauge; throws TypeError for an invalid name or label names. */
  constructor(options: GaugeOptions) {
    checkMetricOptions("gauge", options);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = checkLabelNames("gauge", this.name, options.labelNames ?? []);
    this.#values = new LabeledValues(
      "gauge",
      this.name,
      this.labelNames,
      options.maxSeries ?? 1000,
    );
    this.#collect = options.collect;
  }

  /** Sets the value of a label set. */
  set(value: number, labels?: Labels): void {
    this.#values.series(labels).value = this.#check(value);
  }

  /** Adds `by` (default 1). */
  inc(by = 1, labels?: Labels): void {
    this.#values.series(labels).value += this.#check(by);
  }

  /** Subtracts `by` (default 1). */
  dec(by = 1, labels?: Labels): void {
    this.#values.series(labels).value -= this.#check(by);
  }

  /** Current value of a label set (0 if never set). */
  get(labels?: Labels): number {
    return this.#values.get(labels);
  }

  /** Runs the `collect` callback, then snapshots. */
  collect(_now?: number): MetricSnapshot {
    this.#collect?.(this);
    return { name: this.name, help: this.help, type: "gauge", samples: this.#values.samples() };
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
