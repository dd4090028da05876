/**
 * In-app metrics of the consumer: latency percentiles, 30 s throughput, top-10 orders by value,
 * risk per channel, DLQ / retry counts, committed offsets and lag per partition.
 *
 * @module
 */
import type { DeadLetterReason, StoredOutcome } from "./handler.ts";

/** A monotonically increasing count. */
export class Count {
  #value = 0;
  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.#value += n;
  }
  /** Current value. */
  get value(): number {
    return this.#value;
  }
}

/** Sample-reservoir percentiles (bounded memory: the latest `capacity` samples). */
export class Samples {
  readonly #values: number[] = [];
  readonly #capacity: number;
  #next = 0;
  #count = 0;
  /** Keeps at most `capacity` samples. */
  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }
  /** Records a value. */
  observe(value: number): void {
    this.#count++;
    if (this.#values.length < this.#capacity) this.#values.push(value);
    else {
      this.#values[this.#next] = value;
      this.#next = (this.#next + 1) % this.#capacity;
    }
  }
  /** Observations recorded. */
  get count(): number {
    return this.#count;
  }
  /** The q-quantile (0..1) of the retained samples, or NaN when empty. */
  quantile(q: number): number {
    if (this.#values.length === 0) return NaN;
    const sorted = [...this.#values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }
}

/** Events per second over a sliding window, in 1 s buckets. */
export class WindowRate {
  readonly #buckets: number[];
  readonly #now: () => number;
  #head: number;
  /** Window of `seconds` (default 30). */
  constructor(now: () => number, seconds = 30) {
    this.#buckets = new Array(seconds).fill(0);
    this.#now = now;
    this.#head = Math.floor(now() / 1000);
  }
  #advance(): void {
    const second = Math.floor(this.#now() / 1000);
    const steps = Math.min(this.#buckets.length, second - this.#head);
    for (let i = 1; i <= steps; i++) this.#buckets[(this.#head + i) % this.#buckets.length] = 0;
    if (second > this.#head) this.#head = second;
  }
  /** Adds `n` events now. */
  add(n = 1): void {
    this.#advance();
    this.#buckets[this.#head % this.#buckets.length]! += n;
  }
  /** Events per second over the window. */
  perSecond(): number {
    this.#advance();
    return this.#buckets.reduce((a, b) => a + b, 0) / this.#buckets.length;
  }
}

/** Risk score aggregate of one channel. */
export interface ChannelRisk {
  readonly count: number;
  readonly mean: number;
  readonly max: number;
}

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
}

/** All consumer metrics; one object per worker. */
export class ConsumerMetrics {
  readonly stored = new Count();
  readonly deadLettered = new Count();
  readonly deadLetteredByReason = new Map<DeadLetterReason, number>();
  readonly retries = new Count();
  readonly failuresByStage = new Map<string, number>();
  readonly probeFailures = new Count();
  readonly dlqFailures = new Count();
  readonly groupJoins = new Count();
  readonly fallbackScores = new Count();
  /** Produce → stored latency, ms. */
  readonly latencyMs = new Samples();
  /** Duration of one handler round over a partition batch, seconds. */
  readonly batchSeconds = new Samples(2000);
  readonly throughput: WindowRate;
  readonly #k: number;
  #top: TopOrder[] = [];
  readonly #risk = new Map<string, { count: number; sum: number; max: number }>();
  readonly #lag = new Map<number, number>();
  readonly #committed = new Map<number, string>();
  readonly #paused = new Set<number>();

  /** Creates empty metrics. */
  constructor(options: ConsumerMetricsOptions) {
    this.throughput = new WindowRate(options.now);
    this.#k = options.topK ?? 10;
  }

  /** Accounts a stored order. */
  recordStored(o: StoredOutcome): void {
    this.stored.inc();
    this.throughput.add();
    if (o.fallback) this.fallbackScores.inc();
    if (o.latencyMs !== undefined) this.latencyMs.observe(o.latencyMs);
    const risk = this.#risk.get(o.channel) ?? { count: 0, sum: 0, max: -Infinity };
    risk.count++;
    risk.sum += o.riskScore;
    risk.max = Math.max(risk.max, o.riskScore);
    this.#risk.set(o.channel, risk);
    const last = this.#top.at(-1);
    if (this.#top.length < this.#k || (last !== undefined && o.total > last.total)) {
      this.#top = this.#top.filter((t) => t.orderId !== o.orderId);
      this.#top.push(
        Object.freeze({
          orderId: o.orderId,
          total: o.total,
          channel: o.channel,
          riskScore: o.riskScore,
        }),
      );
      this.#top.sort((a, b) => b.total - a.total);
      if (this.#top.length > this.#k) this.#top.length = this.#k;
    }
  }

  /** Accounts a record acknowledged by the DLQ. */
  recordDeadLetter(reason: DeadLetterReason): void {
    this.deadLettered.inc();
    this.throughput.add();
    this.deadLetteredByReason.set(reason, (this.deadLetteredByReason.get(reason) ?? 0) + 1);
  }

  /** Accounts a retryable failure. */
  recordFailure(stage: string): void {
    this.failuresByStage.set(stage, (this.failuresByStage.get(stage) ?? 0) + 1);
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

  /** Highest-value orders, largest first. */
  topOrders(): readonly TopOrder[] {
    return Object.freeze([...this.#top]);
  }

  /** Risk aggregate per channel. */
  riskByChannel(): ReadonlyMap<string, ChannelRisk> {
    const out = new Map<string, ChannelRisk>();
    for (const [channel, r] of this.#risk) {
      out.set(channel, Object.freeze({ count: r.count, mean: r.sum / r.count, max: r.max }));
    }
    return out;
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
    const top = this.#top[0];
    return `consumer: stored=${this.stored.value} dlq=${this.deadLettered.value} retries=${this.retries.value} ` +
      `rate=${this.throughput.perSecond().toFixed(1)}/s latency_ms p50=${
        f(this.latencyMs.quantile(0.5))
      } ` +
      `p95=${f(this.latencyMs.quantile(0.95))} p99=${
        f(this.latencyMs.quantile(0.99))
      } lag=${lag} ` +
      `paused=[${this.pausedPartitions().join(",")}] risk={${risk}}` +
      (top === undefined ? "" : ` top=${top.orderId}:${top.total}`);
  }
}
