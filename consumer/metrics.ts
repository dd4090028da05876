/**
 * In-app metrics of the consumer, built on core's metric types: a {@linkcode MetricsRegistry}
 * of counters, gauges and histograms (rendered by `/metrics`), end-to-end latency percentiles, a
 * 30 s throughput window, the top-10 orders by value (core's O(log k) {@linkcode TopK} heap),
 * risk per channel, DLQ / retry counts, committed offsets, lag and paused partitions per
 * partition, group membership and a loop heartbeat for `/healthz`.
 *
 * @module
 */
import {
  type Counter,
  LatencyHistogram,
  type LatencySummary,
  type Metric,
  type MetricSnapshot,
  MetricsRegistry,
  type SlidingWindowRate,
  TopK,
} from "../mod.ts";
import type { DeadLetterReason, StoredOutcome } from "./handler.ts";

/** A count as the worker and the CLI use it: add to it, read it. */
export interface Count {
  /** Adds `n` (default 1). */
  inc(n?: number): void;
  /** Current value. */
  readonly value: number;
}

/** Risk score aggregate of one channel. */
export interface ChannelRisk {
  readonly count: number;
  readonly mean: number;
  readonly max: number;
}

/** How the producer's edge scores of one channel compare with the consumer's own. */
export interface ChannelEdge {
  /** Stored orders that carried a valid edge score (`risk.score` header). */
  readonly scored: number;
  /** Of those, orders whose edge and consumer scores differ by more than {@linkcode EDGE_DISAGREEMENT}. */
  readonly disagreements: number;
}

/**
 * Edge and consumer scores "disagree" when they differ by more than this: the same plugins give
 * the same score, so a gap means the producer ran another version or its fallback scored.
 */
export const EDGE_DISAGREEMENT = 0.1;

/** One of the highest-value orders seen. */
export interface TopOrder {
  readonly orderId: string;
  readonly total: number;
  readonly channel: string;
  readonly riskScore: number;
}

/** Options for {@linkcode ConsumerMetrics}. */
export interface ConsumerMetricsOptions {
  readonly now: () => number;
  /** Size of the top-orders list (default 10). */
  readonly topK?: number;
  /** Most channels tracked by name; later ones are aggregated as `_other` (default 100). */
  readonly maxChannels?: number;
}

/** Label value that aggregates channels beyond `maxChannels`. */
export const OTHER_CHANNEL = "_other";

/**
 * A histogram recorded in milliseconds (core's {@linkcode LatencyHistogram}) and exposed in
 * seconds, the Prometheus convention: bucket bounds (`le`) and `_sum` are divided by 1000.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SecondsHistogram } from "./metrics.ts";
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

function countOf(counter: Counter): Count {
  const series = counter.labels({});
  return Object.freeze({
    inc: (n = 1) => series.inc(n),
    get value() {
      return series.get();
    },
  });
}

/** All consumer metrics; one object per worker. */
export class ConsumerMetrics {
  /** Every metric of this worker, for `renderPrometheus`. */
  readonly registry: MetricsRegistry = new MetricsRegistry();
  /** Records finished (stored or dead-lettered). */
  readonly consumed: Count;
  readonly stored: Count;
  /** Dead-lettered records over all reasons (count them with `recordDeadLetter`). */
  readonly deadLettered: { readonly value: number };
  /** Records sent through the handler again after a retryable failure. */
  readonly retries: Count;
  readonly probeFailures: Count;
  readonly dlqFailures: Count;
  readonly groupJoins: Count;
  readonly fallbackScores: Count;
  /** Produce → stored latency (observe in ms via `.ms`; exposed in seconds). */
  readonly latency: SecondsHistogram;
  /** Duration of one handler round over a partition chunk (observe in seconds). */
  readonly batchSeconds: { observe(seconds: number): void };
  /** Finished records per second over the last 30 s. */
  readonly throughput: SlidingWindowRate;
  readonly #now: () => number;
  readonly #deadLetters: Counter;
  readonly #failures: Counter;
  readonly #batch: SecondsHistogram;
  /** Latency since the last {@linkcode ConsumerMetrics.takeRecentLatency}, ms. */
  readonly #recent = new LatencyHistogram({ name: "recent", help: "" });
  readonly #top: TopK<TopOrder>;
  /** IDs currently in #top, so a replayed order is not listed twice (at most k entries). */
  readonly #topIds = new Set<string>();
  readonly #maxChannels: number;
  readonly #risk = new Map<string, { count: number; sum: number; max: number }>();
  readonly #edge = new Map<string, { scored: number; disagreements: number }>();
  readonly #edgeScored: Counter;
  readonly #edgeDisagreements: Counter;
  /** Stored orders whose `risk.score` header was present but not a number in [0, 1]. */
  readonly edgeScoreInvalid: Count;
  readonly #lag = new Map<number, number>();
  readonly #committed = new Map<number, string>();
  readonly #paused = new Set<number>();
  #joined = false;
  #lastTick: number;

  /** Creates empty metrics. */
  constructor(options: ConsumerMetricsOptions) {
    this.#now = options.now;
    this.#lastTick = options.now();
    this.#maxChannels = options.maxChannels ?? 100;
    this.#top = new TopK<TopOrder>(options.topK ?? 10, (o) => o.total);
    const r = this.registry;
    const consumed = r.counter({
      name: "orderflow_records_consumed_total",
      help: "Records finished: stored in the sink or acknowledged by the DLQ.",
    });
    this.consumed = countOf(consumed);
    this.stored = countOf(r.counter({
      name: "orderflow_orders_stored_total",
      help: "Orders durable in the sink.",
    }));
    this.#deadLetters = r.counter({
      name: "orderflow_dead_letters_total",
      help: "Records acknowledged by the DLQ topic, by reason.",
      labelNames: ["reason"],
    });
    const deadLetters = this.#deadLetters;
    this.deadLettered = Object.freeze({
      get value() {
        let total = 0;
        for (const s of deadLetters.collect().samples) total += s.value;
        return total;
      },
    });
    this.retries = countOf(r.counter({
      name: "orderflow_sink_retries_total",
      help: "Records handled again after a retryable failure (sink or scorer outage).",
    }));
    this.#failures = r.counter({
      name: "orderflow_retryable_failures_total",
      help: "Retryable record failures, by stage (sink, score).",
      labelNames: ["stage"],
    });
    this.probeFailures = countOf(r.counter({
      name: "orderflow_sink_probe_failures_total",
      help: "Failed sink probes while waiting for the sink to come back.",
    }));
    this.dlqFailures = countOf(r.counter({
      name: "orderflow_dlq_publish_failures_total",
      help: "Failed attempts to publish a batch of dead letters.",
    }));
    this.groupJoins = countOf(r.counter({
      name: "orderflow_group_joins_total",
      help: "Consumer group joins (the first join plus every rebalance).",
    }));
    this.fallbackScores = countOf(r.counter({
      name: "orderflow_fallback_scores_total",
      help: "Stored orders scored by a fallback instead of their channel's scorer.",
    }));
    this.latency = r.register(
      new SecondsHistogram({
        name: "orderflow_end_to_end_latency_seconds",
        help: "Produce (produced_at) to durable-in-sink latency of stored orders.",
      }),
    );
    this.#batch = r.register(
      new SecondsHistogram({
        name: "orderflow_batch_duration_seconds",
        help: "Duration of one handler round over a partition chunk.",
      }),
    );
    const batch = this.#batch;
    this.batchSeconds = Object.freeze({
      observe: (seconds: number) => batch.ms.observe(Math.max(0, seconds * 1000)),
    });
    this.throughput = r.rate({
      name: "orderflow_throughput_per_second",
      help: "Records finished per second over the last 30 s.",
      now: options.now(),
    });
    r.gauge({
      name: "orderflow_consumer_lag",
      help: "Records behind the high watermark per partition (at the last lag refresh).",
      labelNames: ["partition"],
      collect: (g) => {
        for (const [p, lag] of this.#lag) g.set(lag, { partition: String(p) });
      },
    });
    r.gauge({
      name: "orderflow_committed_offset",
      help: "Last offset committed per partition (the next offset to consume).",
      labelNames: ["partition"],
      collect: (g) => {
        for (const [p, offset] of this.#committed) g.set(Number(offset), { partition: String(p) });
      },
    });
    r.gauge({
      name: "orderflow_partitions_paused",
      help: "Partitions paused while the sink is unavailable.",
      collect: (g) => g.set(this.#paused.size),
    });
    r.gauge({
      name: "orderflow_risk_score_mean",
      help: "Mean risk score of stored orders, by channel.",
      labelNames: ["channel"],
      collect: (g) => {
        for (const [channel, risk] of this.#risk) g.set(risk.sum / risk.count, { channel });
      },
    });
    this.#edgeScored = r.counter({
      name: "orderflow_edge_scored_total",
      help: "Stored orders that carried the producer's edge score (risk.score header), by channel.",
      labelNames: ["channel"],
    });
    this.#edgeDisagreements = r.counter({
      name: "orderflow_edge_disagreements_total",
      help:
        `Stored orders whose edge score and consumer score differ by more than ${EDGE_DISAGREEMENT}, by channel.`,
      labelNames: ["channel"],
    });
    this.edgeScoreInvalid = countOf(r.counter({
      name: "orderflow_edge_score_invalid_total",
      help: "Stored orders whose risk.score header was not a number in [0, 1] (ignored).",
    }));
    r.gauge({
      name: "orderflow_group_member",
      help: "1 while joined to the consumer group, 0 otherwise.",
      collect: (g) => g.set(this.#joined ? 1 : 0),
    });
  }

  /** The time source given at construction, epoch ms. */
  now(): number {
    return this.#now();
  }

  /** Accounts a stored order. */
  recordStored(o: StoredOutcome): void {
    const now = this.#now();
    this.stored.inc();
    this.consumed.inc();
    this.throughput.add(1, now);
    this.#lastTick = now;
    if (o.fallback) this.fallbackScores.inc();
    if (o.latencyMs !== undefined && Number.isFinite(o.latencyMs)) {
      const ms = Math.max(0, o.latencyMs);
      this.latency.ms.observe(ms);
      this.#recent.observe(ms);
    }
    const channel = this.#risk.has(o.channel) || this.#risk.size < this.#maxChannels
      ? o.channel
      : OTHER_CHANNEL;
    let risk = this.#risk.get(channel);
    if (risk === undefined) this.#risk.set(channel, risk = { count: 0, sum: 0, max: -Infinity });
    risk.count++;
    risk.sum += o.riskScore;
    risk.max = Math.max(risk.max, o.riskScore);
    if (o.edgeScoreInvalid === true) this.edgeScoreInvalid.inc();
    if (o.edgeRiskScore !== undefined) {
      let edge = this.#edge.get(channel);
      if (edge === undefined) this.#edge.set(channel, edge = { scored: 0, disagreements: 0 });
      edge.scored++;
      this.#edgeScored.inc(1, { channel });
      if (Math.abs(o.edgeRiskScore - o.riskScore) > EDGE_DISAGREEMENT) {
        edge.disagreements++;
        this.#edgeDisagreements.inc(1, { channel });
      }
    }
    if (!this.#topIds.has(o.orderId)) {
      const full = this.#top.size === this.#top.capacity;
      const displaced = full ? this.#top.min : undefined;
      const entry: TopOrder = Object.freeze({
        orderId: o.orderId,
        total: o.total,
        channel: o.channel,
        riskScore: o.riskScore,
      });
      if (this.#top.push(entry)) {
        this.#topIds.add(o.orderId);
        if (displaced !== undefined) this.#topIds.delete(displaced.orderId);
      }
    }
  }

  /** Accounts a record acknowledged by the DLQ. */
  recordDeadLetter(reason: DeadLetterReason): void {
    const now = this.#now();
    this.#deadLetters.inc(1, { reason });
    this.consumed.inc();
    this.throughput.add(1, now);
    this.#lastTick = now;
  }

  /** Accounts a retryable failure. */
  recordFailure(stage: string): void {
    this.#failures.inc(1, { stage });
  }

  /** Dead letters by reason. */
  get deadLetteredByReason(): ReadonlyMap<DeadLetterReason, number> {
    const out = new Map<DeadLetterReason, number>();
    for (const s of this.#deadLetters.collect().samples) {
      out.set(s.labels[0]![1] as DeadLetterReason, s.value);
    }
    return out;
  }

  /** Retryable failures by stage. */
  get failuresByStage(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const s of this.#failures.collect().samples) out.set(s.labels[0]![1], s.value);
    return out;
  }

  /** Records the last committed offset of a partition. */
  setCommitted(partition: number, offset: string): void {
    this.#committed.set(partition, offset);
  }

  /** Records the lag of a partition. */
  setLag(partition: number, lag: number): void {
    this.#lag.set(partition, lag);
  }

  /** Marks a partition paused (sink outage) or resumed. */
  setPaused(partition: number, paused: boolean): void {
    if (paused) this.#paused.add(partition);
    else this.#paused.delete(partition);
  }

  /** Records whether the worker is currently a member of its group (readiness). */
  setJoined(joined: boolean): void {
    this.#joined = joined;
    this.#lastTick = this.#now();
  }

  /** True between a group join and the next rebalance / stop / crash. */
  get joined(): boolean {
    return this.#joined;
  }

  /** Notes that the consume loop is alive (a fetch, a heartbeat, a finished record). */
  tick(): void {
    this.#lastTick = this.#now();
  }

  /** When the consume loop last showed life, epoch ms (liveness). */
  get lastTick(): number {
    return this.#lastTick;
  }

  /**
   * Latency percentiles (ms) of the orders stored since the previous call, then starts a new
   * interval: the dashboard's latency-over-time series.
   */
  takeRecentLatency(): LatencySummary {
    const summary = this.#recent.summary();
    this.#recent.reset();
    return summary;
  }

  /** Highest-value orders, largest first (each order at most once). */
  topOrders(): readonly TopOrder[] {
    return Object.freeze(this.#top.values());
  }

  /** Risk aggregate per channel. */
  riskByChannel(): ReadonlyMap<string, ChannelRisk> {
    const out = new Map<string, ChannelRisk>();
    for (const [channel, r] of this.#risk) {
      out.set(channel, Object.freeze({ count: r.count, mean: r.sum / r.count, max: r.max }));
    }
    return out;
  }

  /** Edge-score agreement per channel (only channels with edge-scored orders). */
  edgeByChannel(): ReadonlyMap<string, ChannelEdge> {
    return new Map([...this.#edge].map(([c, e]) => [c, Object.freeze({ ...e })]));
  }

  /** Lag per partition from the last refresh. */
  lagByPartition(): ReadonlyMap<number, number> {
    return new Map(this.#lag);
  }

  /** Committed offsets per partition. */
  committedByPartition(): ReadonlyMap<number, string> {
    return new Map(this.#committed);
  }

  /** Partitions paused for a sink outage. */
  pausedPartitions(): readonly number[] {
    return Object.freeze([...this.#paused].sort((a, b) => a - b));
  }

  /** One line for stderr. */
  summaryLine(): string {
    const f = (n: number): string => Number.isNaN(n) ? "-" : n.toFixed(0);
    const lag = [...this.#lag.values()].reduce((a, b) => a + b, 0);
    const risk = [...this.riskByChannel()].map(([c, r]) => `${c}:${r.mean.toFixed(2)}`).join(",");
    const top = this.topOrders()[0];
    const l = this.latency.ms.summary();
    return `consumer: stored=${this.stored.value} dlq=${this.deadLettered.value} ` +
      `retries=${this.retries.value} rate=${this.throughput.rate(this.#now()).toFixed(1)}/s ` +
      `latency_ms p50=${f(l.p50)} p95=${f(l.p95)} p99=${f(l.p99)} lag=${lag} ` +
      `paused=[${this.pausedPartitions().join(",")}] risk={${risk}}` +
      (top === undefined ? "" : ` top=${top.orderId}:${top.total}`);
  }
}
