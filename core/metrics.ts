/**
 * Metrics, all in one import: {@link Counter}, {@link Gauge}, {@link LatencyHistogram},
 * {@link SlidingWindowRate}, {@link MetricsRegistry} and {@link renderPrometheus}.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { MetricsRegistry, renderPrometheus } from "./metrics.ts";
 * const registry = new MetricsRegistry();
 * const rate = registry.rate({ name: "orderflow_consume_rate", help: "Orders/s, 30 s window.", now: 0 });
 * rate.add(30, 500);
 * ok(renderPrometheus(registry, { now: 1_000 }).includes("orderflow_consume_rate 30\n"));
 * ```
 *
 * @module
 */

export type { Labels, Metric, MetricOptions, MetricSample, MetricSnapshot } from "./_metric.ts";
export { Counter, type LabeledMetricOptions } from "./counter.ts";
export { Gauge, type GaugeOptions } from "./gauge.ts";
export {
  DEFAULT_LATENCY_BUCKETS_MS,
  type HistogramOptions,
  LatencyHistogram,
  type LatencySummary,
  QUANTILE_RELATIVE_ERROR,
} from "./histogram.ts";
export { type SlidingWindowOptions, SlidingWindowRate } from "./sliding_window.ts";
export { MetricsRegistry } from "./registry.ts";
export { type MetricSource, PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus.ts";
