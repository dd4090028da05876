/**
 * Private helpers shared by the metric types: the snapshot shape the registry and the
 * Prometheus renderer read, name/label validation, labelled series storage, and the base of the
 * labelled metrics (counter, gauge).
 *
 * @module
 */

/** Label names to values. */
export type Labels = Readonly<Record<string, string>>;

/** One sample line of a metric: `<name><suffix>{labels} value`. */
export interface MetricSample {
  /** Appended to the metric name, e.g. `_bucket`, `_sum`, `_count`, or `""`. */
  readonly suffix: string;
  /** Label pairs in output order. */
  readonly labels: readonly (readonly [string, string])[];
  /** The value (may be NaN or ±Infinity). */
  readonly value: number;
}

/** A point-in-time view of one metric. */
export interface MetricSnapshot {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Prometheus metric type. */
  readonly type: "counter" | "gauge" | "histogram";
  /** Sample lines. */
  readonly samples: readonly MetricSample[];
}

/** Anything a `MetricsRegistry` can hold. */
export interface Metric {
  /** Unique metric name within a registry. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Takes a snapshot; `now` (epoch ms) is used by time-based metrics. */
  collect(now: number): MetricSnapshot;
}

/** Common options of every metric. */
export interface MetricOptions {
  /** Metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`, e.g. `orderflow_orders_consumed_total`. */
  readonly name: string;
  /** One-line help text. */
  readonly help: string;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,199}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,99}$/;

/** Validates common options; throws TypeError. */
export function checkMetricOptions(kind: string, options: MetricOptions): void {
  if (typeof options?.name !== "string" || !METRIC_NAME.test(options.name)) {
    throw new TypeError(
      `Cannot create ${kind}: name must match [a-zA-Z_:][a-zA-Z0-9_:]*, got ${
        JSON.stringify(options?.name)
      }`,
    );
  }
  if (typeof options.help !== "string") {
    throw new TypeError(`Cannot create ${kind} "${options.name}": help must be a string`);
  }
}

/** Validates label names; throws TypeError. */
export function checkLabelNames(
  kind: string,
  name: string,
  labelNames: readonly string[],
  reserved: readonly string[] = [],
): readonly string[] {
  const seen = new Set<string>();
  for (const label of labelNames) {
    if (typeof label !== "string" || !LABEL_NAME.test(label) || label.startsWith("__")) {
      throw new TypeError(
        `Cannot create ${kind} "${name}": invalid label name ${JSON.stringify(label)}`,
      );
    }
    if (reserved.includes(label)) {
      throw new TypeError(`Cannot create ${kind} "${name}": label name "${label}" is reserved`);
    }
    if (seen.has(label)) {
      throw new TypeError(`Cannot create ${kind} "${name}": duplicate label name "${label}"`);
    }
    seen.add(label);
  }
  return Object.freeze([...labelNames]);
}

interface Series {
  readonly labels: readonly (readonly [string, string])[];
  value: number;
}

/** Values by label set, bounded in number of series. */
export class LabeledValues {
  readonly #kind: string;
  readonly #name: string;
  readonly #labelNames: readonly string[];
  readonly #maxSeries: number;
  readonly #series = new Map<string, Series>();

  constructor(kind: string, name: string, labelNames: readonly string[], maxSeries: number) {
    if (!Number.isSafeInteger(maxSeries) || maxSeries < 1) {
      throw new RangeError(`Cannot create ${kind} "${name}": maxSeries must be an integer >= 1`);
    }
    this.#kind = kind;
    this.#name = name;
    this.#labelNames = labelNames;
    this.#maxSeries = maxSeries;
  }

  /** The series for a label set, created on first use. */
  series(labels: Labels | undefined): Series {
    const key = this.#key(labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      if (this.#series.size >= this.#maxSeries) {
        throw new RangeError(
          `Cannot add a series to ${this.#kind} "${this.#name}": it already has ${this.#maxSeries} label sets (maxSeries)`,
        );
      }
      series = {
        labels: Object.freeze(
          this.#labelNames.map((n) => Object.freeze([n, labels![n]!] as const)),
        ),
        value: 0,
      };
      this.#series.set(key, series);
    }
    return series;
  }

  /** The value for a label set without creating it (0 when absent). */
  get(labels: Labels | undefined): number {
    return this.#series.get(this.#key(labels))?.value ?? 0;
  }

  /** Samples of every series in creation order. */
  samples(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const s of this.#series.values()) {
      out.push({ suffix: "", labels: s.labels, value: s.value });
    }
    return out;
  }

  #key(labels: Labels | undefined): string {
    const names = this.#labelNames;
    if (names.length === 0) {
      if (labels !== undefined && Object.keys(labels).length > 0) {
        throw new TypeError(`Cannot update ${this.#kind} "${this.#name}": it has no labels`);
      }
      return "";
    }
    if (typeof labels !== "object" || labels === null) {
      throw new TypeError(
        `Cannot update ${this.#kind} "${this.#name}": labels ${names.join(", ")} are required`,
      );
    }
    const values: string[] = [];
    for (const n of names) {
      const v = labels[n];
      if (typeof v !== "string") {
        throw new TypeError(
          `Cannot update ${this.#kind} "${this.#name}": label "${n}" must be a string`,
        );
      }
      values.push(v);
    }
    if (Object.keys(labels).length !== names.length) {
      throw new TypeError(
        `Cannot update ${this.#kind} "${this.#name}": labels must be exactly ${names.join(", ")}`,
      );
    }
    return names.length === 1 ? values[0]! : JSON.stringify(values);
  }
}

/** Options of {@link Counter} and {@link Gauge}. */
export interface LabeledMetricOptions extends MetricOptions {
  /** Label names every update must give (exactly these). Default none. */
  readonly labelNames?: readonly string[];
  /** Most distinct label sets before updates throw RangeError. Default 1000. */
  readonly maxSeries?: number;
}

/**
 * What a counter and a gauge have in common: validated name, help and label names, and their
 * values by label set (kept private; subclasses reach them through `series` and `samples`).
 */
export abstract class LabeledMetric implements Metric {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Declared label names. */
  readonly labelNames: readonly string[];
  readonly #values: LabeledValues;

  /** Validates the options; throws TypeError for an invalid name or label names. */
  protected constructor(kind: "counter" | "gauge", options: LabeledMetricOptions) {
    checkMetricOptions(kind, options);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = checkLabelNames(kind, this.name, options.labelNames ?? []);
    this.#values = new LabeledValues(kind, this.name, this.labelNames, options.maxSeries ?? 1000);
  }

  /** Current value of a label set (0 when it was never updated). */
  get(labels?: Labels): number {
    return this.#values.get(labels);
  }

  /** Takes a snapshot; see {@link Metric.collect}. */
  abstract collect(now?: number): MetricSnapshot;

  /** The series of a label set, created on first use. */
  protected series(labels: Labels | undefined): Series {
    return this.#values.series(labels);
  }

  /** Samples of every series in creation order. */
  protected samples(): MetricSample[] {
    return this.#values.samples();
  }
}
