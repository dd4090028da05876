/**
 * `MetricsRegistry`: a set of uniquely named metrics you create and pass around (never global).
 *
 * @module
 */

import type { Metric, MetricSnapshot } from "./_metric.ts";
import { Counter, type LabeledMetricOptions } from "./counter.ts";
import { Gauge, type GaugeOptions } from "./gauge.ts";
import { type HistogramOptions, LatencyHistogram } from "./histogram.ts";
import { type SlidingWindowOptions, SlidingWindowRate } from "./sliding_window.ts";

/**
 * Holds metrics by unique name, in registration order. Registering a name twice — or a name a
 * histogram already renders (`<name>_bucket`, `_sum`, `_count`) — throws `TypeError`.
 *
 * @example
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { MetricsRegistry } from "./registry.ts";
 * const registry = new MetricsRegistry();
 * const consumed = registry.counter({ name: "orderflow_orders_consumed_total", help: "Orders consumed." });
 * consumed.inc(3);
 * equal(registry.get("orderflow_orders_consumed_total"), consumed);
 * throws(() => registry.gauge({ name: "orderflow_orders_consumed_total", help: "again" }), TypeError);
 * equal(registry.collect()[0]?.samples[0]?.value, 3);
 * ```
 */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>();
  readonly #reserved = new Set<string>();

  /** Adds a metric; returns it. */
  register<M extends Metric>(metric: M): M {
    const name = metric.name;
    const renders = metric instanceof LatencyHistogram
      ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]
      : [name];
    for (const n of renders) {
      if (this.#reserved.has(n)) {
        throw new TypeError(`Cannot register metric "${name}": the name "${n}" is already in use`);
      }
    }
    for (const n of renders) this.#reserved.add(n);
    this.#metrics.set(name, metric);
    return metric;
  }

  /** Creates and registers a {@link Counter}. */
  counter(options: LabeledMetricOptions): Counter {
    return this.register(new Counter(options));
  }

  /** Creates and registers a {@link Gauge}. */
  gauge(options: GaugeOptions): Gauge {
    return this.register(new Gauge(options));
  }

  /** Creates and registers a {@link LatencyHistogram}. */
  histogram(options: HistogramOptions): LatencyHistogram {
    return this.register(new LatencyHistogram(options));
  }

  /** Creates and registers a {@link SlidingWindowRate} (rendered as a gauge). */
  rate(
    options: SlidingWindowOptions & { readonly name: string; readonly help: string },
  ): SlidingWindowRate {
    return this.register(new SlidingWindowRate(options));
  }

  /** The metric registered under `name`, if any. */
  get(name: string): Metric | undefined {
    return this.#metrics.get(name);
  }

  /** Every metric in registration order. */
  metrics(): readonly Metric[] {
    return [...this.#metrics.values()];
  }

  /** Snapshots of every metric at `now` (epoch ms, default `Date.now()`). */
  collect(now: number = Date.now()): MetricSnapshot[] {
    const out: MetricSnapshot[] = [];
    for (const metric of this.#metrics.values()) out.push(metric.collect(now));
    return out;
  }
}
