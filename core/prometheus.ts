/**
 * Prometheus text exposition format 0.0.4.
 *
 * @module
 */

import type { MetricSnapshot } from "./_metric.ts";

/** The `Content-Type` of {@link renderPrometheus} output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Anything with snapshots to render, such as a `MetricsRegistry`. */
export interface MetricSource {
  /** Snapshots at `now` (epoch ms). */
  collect(now?: number): readonly MetricSnapshot[];
}

/**
 * Renders metrics in the Prometheus text format 0.0.4: per metric `# HELP` (with `\` and
 * newline escaped) and `# TYPE`, then one line per sample; label values escape `\`, `"` and
 * newline; values print `NaN`, `+Inf`, `-Inf` as Prometheus spells them. Histograms render
 * cumulative `_bucket{le="..."}` lines ending with `le="+Inf"`, then `_sum` and `_count`.
 * The text ends with a newline.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { MetricsRegistry } from "./registry.ts";
 * import { renderPrometheus } from "./prometheus.ts";
 * const registry = new MetricsRegistry();
 * registry.counter({ name: "orderflow_dlq_total", help: "Records sent to the DLQ.", labelNames: ["reason"] })
 *   .inc(2, { reason: 'bad "json"' });
 * registry.histogram({ name: "orderflow_latency_ms", help: "Latency.", buckets: [10, 100] }).observe(42);
 * equal(renderPrometheus(registry), [
 *   "# HELP orderflow_dlq_total Records sent to the DLQ.",
 *   "# TYPE orderflow_dlq_total counter",
 *   'orderflow_dlq_total{reason="bad \\"json\\""} 2',
 *   "# HELP orderflow_latency_ms Latency.",
 *   "# TYPE orderflow_latency_ms histogram",
 *   'orderflow_latency_ms_bucket{le="10"} 0',
 *   'orderflow_latency_ms_bucket{le="100"} 1',
 *   'orderflow_latency_ms_bucket{le="+Inf"} 1',
 *   "orderflow_latency_ms_sum 42",
 *   "orderflow_latency_ms_count 1",
 *   "",
 * ].join("\n"));
 * ```
 */
export function renderPrometheus(
  source: MetricSource,
  options?: { readonly now?: number },
): string {
  let out = "";
  for (const snapshot of source.collect(options?.now ?? Date.now())) {
    out += `# HELP ${snapshot.name} ${escapeHelp(snapshot.help)}\n`;
    out += `# TYPE ${snapshot.name} ${snapshot.type}\n`;
    for (const sample of snapshot.samples) {
      out += snapshot.name + sample.suffix;
      if (sample.labels.length > 0) {
        out += "{";
        for (let i = 0; i < sample.labels.length; i++) {
          const [name, value] = sample.labels[i]!;
          out += `${i === 0 ? "" : ","}${name}="${escapeLabelValue(value)}"`;
        }
        out += "}";
      }
      out += ` ${formatValue(sample.value)}\n`;
    }
  }
  return out;
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
