/**
 * The metric shapes the consumer adds on top of core's: a plain count as the worker and the CLI
 * use it, and a histogram recorded in milliseconds but exposed in seconds.
 *
 * @module
 */
import { type Counter, LatencyHistogram, type Metric, type MetricSnapshot } from "../mod.ts";

/** A count as the worker and the CLI use it: add to it, read it. */
export interface Count {
  /** Adds `n` (default 1). */
  inc(n?: number): void;
  /** Current value. */
  readonly value: number;
}

/** The unlabelled series of `counter` as a {@linkcode Count}. */
export function countOf(counter: Counter): Count {
  const series = counter.labels({});
  return Object.freeze({
    inc: (n = 1) => series.inc(n),
    get value() {
      return series.get();
    },
  });
}

/**
 * A histogram recorded in milliseconds (core's {@linkcode LatencyHistogram}) and exposed in
 * seconds, the Prometheus convention: bucket bounds (`le`) and `_sum` are divided by 1000.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SecondsHistogram } from "./metric_series.ts";
 *
 * const h = new SecondsHistogram({ name: "x_seconds", help: "x" });
 * h.ms.observe(250);
 * const snap = h.collect();
 * assert.ok(snap.samples.some((s) => s.labels[0]?.[1] === "0.25" && s.value === 1));
 * assert.equal(snap.samples.find((s) => s.suffix === "_sum")?.value, 0.25);
 * ```
 */
export class SecondsHistogram implements Metric {
  /** Metric name (should end in `_seconds`). */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** The underlying histogram, in milliseconds (observe here; quantiles are in ms). */
  readonly ms: LatencyHistogram;

  /** Creates the histogram with core's default latency buckets. */
  constructor(options: { readonly name: string; readonly help: string }) {
    this.ms = new LatencyHistogram(options);
    this.name = options.name;
    this.help = options.help;
  }

  /** Snapshot with seconds as the unit. */
  collect(now?: number): MetricSnapshot {
    const snap = this.ms.collect(now);
    return {
      ...snap,
      samples: snap.samples.map((s) => {
        if (s.suffix === "_sum") return { ...s, value: s.value / 1000 };
        if (s.suffix !== "_bucket") return s;
        return {
          ...s,
          labels: s.labels.map(([k, v]) =>
            k === "le" && v !== "+Inf" ? [k, String(Number(v) / 1000)] as const : [k, v] as const
          ),
        };
      }),
    };
  }
}
