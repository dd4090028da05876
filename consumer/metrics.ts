/**
 * In-app metrics of the consumer, built on core's metric types: a {@linkcode MetricsRegistry}
 * of counters, gauges and histograms (rendered by `/metrics`), end-to-end latency percentiles, a
 * 30 s throughput window, DLQ / retry counts, committed offsets, lag and paused partitions per
 * partition, group membership and a loop heartbeat for `/healthz`. What the stored orders look
 * like (risk and edge agreement per channel, top orders) is kept by `order_stats.ts`.
 *
 * @module
 */
import {
  type Counter,
  LatencyHistogram,
  type LatencySummary,
  MetricsRegistry,
  type SlidingWindowRate,
} from "../mod.ts";
import type { DeadLetterReason, StoredOutcome } from "./handler.ts";
import { type Count, countOf, SecondsHistogram } from "./metric_series.ts";
import { type ChannelEdge, type ChannelRisk, OrderStats, type TopOrder } from "./order_stats.ts";

export { type Count, SecondsHistogram } from "./metric_series.ts";
export {
  type ChannelEdge,
  type ChannelRisk,
  EDGE_DISAGREEMENT,
  OTHER_CHANNEL,
  type TopOrder,
} from "./order_stats.ts";

/** Options for {@linkcode ConsumerMetrics}. */
export interface ConsumerMetricsOptions {
  readonly now: () => number;
  /** Size of the top-orders list (default 10). */
  readonly topK?: number;
  /** Most channels tracked by name; later ones are aggregated as `_other` (default 100). */
  readonly maxChannels?: number;
}

/** Help text of each counter, by metric name (one table, so each counter is made in one line). */
const HELP = {
  orderflow_records_consumed_total:
    "Records finished: stored in the sink or acknowledged by the DLQ.",
  orderflow_orders_stored_total: "Orders durable in the sink.",
  orderflow_dead_letters_total: "Records acknowledged by the DLQ topic, by reason.",
  orderflow_sink_retries_total:
    "Records handled again after a retryable failure (sink or scorer outage).",
  orderflow_retryable_failures_total: "Retryable record failures, by stage (sink, score).",
  orderflow_sink_probe_failures_total:
    "Failed sink probes while waiting for the sink to come back.",
  orderflow_dlq_publish_failures_total: "Failed attempts to publish a batch of dead letters.",
  orderflow_group_joins_total: "Consumer group joins (the first join plus every rebalance).",
  orderflow_fallback_scores_total:
    "Stored orders scored by a fallback instead of their channel's scorer.",
} as const;

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
  /** Latency since the last {@linkcode ConsumerMetrics.takeRecentLatency}, ms. */
  readonly #recent = new LatencyHistogram({ name: "recent", help: "" });
  readonly #orders: OrderStats;
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
    const r = this.registry;
    const counter = (name: keyof typeof HELP, label?: string): Counter =>
      r.counter({
        name,
        help: HELP[name],
        ...(label === undefined ? {} : { labelNames: [label] }),
      });
    const count = (name: keyof typeof HELP): Count => countOf(counter(name));
    this.consumed = count("orderflow_records_consumed_total");
    this.stored = count("orderflow_orders_stored_total");
    const deadLetters = this.#deadLetters = counter("orderflow_dead_letters_total", "reason");
    this.deadLettered = Object.freeze({
      get value() {
        let total = 0;
        for (const s of deadLetters.collect().samples) total += s.value;
        return total;
      },
    });
    this.retries = count("orderflow_sink_retries_total");
    this.#failures = counter("orderflow_retryable_failures_total", "stage");
    this.probeFailures = count("orderflow_sink_probe_failures_total");
    this.dlqFailures = count("orderflow_dlq_publish_failures_total");
    this.groupJoins = count("orderflow_group_joins_total");
    this.fallbackScores = count("orderflow_fallback_scores_total");
    this.latency = r.register(
      new SecondsHistogram({
        name: "orderflow_end_to_end_latency_seconds",
        help: "Produce (produced_at) to durable-in-sink latency of stored orders.",
      }),
    );
    const batch = r.register(
      new SecondsHistogram({
        name: "orderflow_batch_duration_seconds",
        help: "Duration of one handler round over a partition chunk.",
      }),
    );
    this.batchSeconds = Object.freeze({
      observe: (seconds: number) => batch.ms.observe(Math.max(0, seconds * 1000)),
    });
    this.throughput = r.rate({
      name: "orderflow_throughput_per_second",
      help: "Records finished per second over the last 30 s.",
      now: options.now(),
    });
    const perPartition = (name: string, help: string, values: ReadonlyMap<number, unknown>) =>
      r.gauge({
        name,
        help,
        labelNames: ["partition"],
        collect: (g) => {
          for (const [p, v] of values) g.set(Number(v), { partition: String(p) });
        },
      });
    perPartition(
      "orderflow_consumer_lag",
      "Records behind the high watermark per partition (at the last lag refresh).",
      this.#lag,
    );
    perPartition(
      "orderflow_committed_offset",
      "Last offset committed per partition (the next offset to consume).",
      this.#committed,
    );
    r.gauge({
      name: "orderflow_partitions_paused",
      help: "Partitions paused while the sink is unavailable.",
      collect: (g) => g.set(this.#paused.size),
    });
    this.#orders = new OrderStats(r, options.topK ?? 10, options.maxChannels ?? 100);
    this.edgeScoreInvalid = this.#orders.edgeScoreInvalid;
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
    this.#orders.record(o);
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
    return this.#orders.topOrders();
  }

  /** Risk aggregate per channel. */
  riskByChannel(): ReadonlyMap<string, ChannelRisk> {
    return this.#orders.riskByChannel();
  }

  /** Edge-score agreement per channel (only channels with edge-scored orders). */
  edgeByChannel(): ReadonlyMap<string, ChannelEdge> {
    return this.#orders.edgeByChannel();
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
