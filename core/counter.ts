/**
 * `Counter`: a monotonically increasing count, optionally split by labels.
 *
 * @module
 */

import {
  LabeledMetric,
  type LabeledMetricOptions,
  type Labels,
  type MetricSnapshot,
} from "./_metric.ts";

export type { LabeledMetricOptions } from "./_metric.ts";

/**
 * A counter. Values only go up; `inc` with a negative, NaN or infinite amount throws
 * `RangeError`. With `labelNames`, every update names exactly those labels.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Counter } from "./counter.ts";
 * const failures = new Counter({
 *   name: "orderflow_scorer_failures_total", help: "Scorer failures.", labelNames: ["scorer", "reason"],
 * });
 * failures.inc(1, { scorer: "web", reason: "timeout" });
 * const webTimeouts = failures.labels({ scorer: "web", reason: "timeout" });
 * webTimeouts.inc();
 * equal(failures.get({ scorer: "web", reason: "timeout" }), 2);
 * equal(failures.get({ scorer: "web", reason: "nan" }), 0);
 * ```
 */
export class Counter extends LabeledMetric {
  /** Creates a counter; throws TypeError for an invalid name or label names. */
  constructor(options: LabeledMetricOptions) {
    super("counter", options);
  }

  /** Adds `by` (default 1, must be finite and >= 0) to the series of `labels`. */
  inc(by = 1, labels?: Labels): void {
    if (typeof by !== "number" || !(by >= 0) || by === Infinity) {
      throw new RangeError(
        `Cannot increment counter "${this.name}": amount must be finite and >= 0, got ${by}`,
      );
    }
    this.series(labels).value += by;
  }

  /** A handle bound to one label set (validated once), for hot paths. */
  labels(labels: Labels): { inc(by?: number): void; get(): number } {
    const series = this.series(labels);
    const name = this.name;
    return Object.freeze({
      inc(by = 1): void {
        if (typeof by !== "number" || !(by >= 0) || by === Infinity) {
          throw new RangeError(
            `Cannot increment counter "${name}": amount must be finite and >= 0, got ${by}`,
          );
        }
        series.value += by;
      },
      get(): number {
        return series.value;
      },
    });
  }

  /** Snapshot for rendering. */
  collect(_now?: number): MetricSnapshot {
    return { name: this.name, help: this.help, type: "counter", samples: this.samples() };
  }
}
