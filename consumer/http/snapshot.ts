/**
 * The dashboard's data: one JSON snapshot of a running consumer (`/api/snapshot`) and the
 * short history of throughput and latency behind its charts.
 *
 * Nothing secret goes in: brokers as host:port, topic names, the sink as kind + directory or
 * endpoint origin + bucket — never passwords, API keys or HMAC secrets.
 *
 * @module
 */
import type { Settings } from "../../config/settings.ts";
import type { ObservedConsumer } from "./observed.ts";

/** One point of the dashboard's time series. */
export interface HistoryPoint {
  /** Epoch seconds. */
  readonly t: number;
  /** Records finished per second (30 s window). */
  readonly throughput: number;
  /** End-to-end latency of the orders stored in the last interval, ms (null: none stored). */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  /** Orders stored so far. */
  readonly stored: number;
  /** Records dead-lettered so far. */
  readonly deadLettered: number;
}

/**
 * A ring of {@linkcode HistoryPoint}s, one per {@linkcode History.sample} call (the server
 * samples once a second).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConsumerMetrics } from "../metrics.ts";
 * import { History } from "./snapshot.ts";
 *
 * const metrics = new ConsumerMetrics({ now: () => 5_000 });
 * const h = new History(metrics, 2);
 * for (let i = 0; i < 3; i++) h.sample(5_000 + i * 1000);
 * assert.deepEqual(h.since(0).map((p) => p.t), [6, 7]);
 * assert.deepEqual(h.since(6).map((p) => p.t), [7]);
 * ```
 */
export class History {
  readonly #metrics: ObservedConsumer["metrics"];
  readonly #capacity: number;
  readonly #points: HistoryPoint[] = [];

  /** Keeps the last `capacity` points (default 600: ten minutes at one a second). */
  constructor(metrics: ObservedConsumer["metrics"], capacity = 600) {
    this.#metrics = metrics;
    this.#capacity = capacity;
  }

  /** Appends a point for `now` (epoch ms). */
  sample(now: number = Date.now()): void {
    const m = this.#metrics;
    const recent = m.takeRecentLatency();
    const round = (n: number) => Number.isNaN(n) ? null : Math.round(n * 100) / 100;
    this.#points.push(Object.freeze({
      t: Math.floor(now / 1000),
      throughput: Math.round(m.throughput.rate(now) * 100) / 100,
      p50: round(recent.p50),
      p95: round(recent.p95),
      p99: round(recent.p99),
      stored: m.stored.value,
      deadLettered: m.deadLettered.value,
    }));
    if (this.#points.length > this.#capacity) this.#points.shift();
  }

  /** Points with `t` after `t` (epoch seconds), oldest first. */
  since(t: number): readonly HistoryPoint[] {
    return this.#points.filter((p) => p.t > t);
  }
}

/** What the dashboard says about where the consumer reads and writes. */
export interface ServiceInfo {
  readonly version: string;
  readonly brokers: readonly string[];
  readonly securityProtocol: string;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
  /** `local:<dir>` or `cos:<endpoint origin>/<bucket>`. */
  readonly sink: string;
  readonly layout: string;
}

/** The endpoint origin only: no user info, path or query (they might carry credentials). */
function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return "(invalid endpoint)";
  }
}

/** Broker as `host:port`, dropping anything else a misconfigured value might carry. */
function brokerOf(broker: string): string {
  const at = broker.lastIndexOf("@");
  return broker.slice(at + 1).replace(/^[a-z]+:\/\//i, "");
}

/** The non-secret description of a consumer's settings. */
export function serviceInfo(settings: Settings, version: string): ServiceInfo {
  const sink = settings.sink.kind === "local"
    ? `local:${settings.sink.dir}`
    : `cos:${originOf(settings.sink.cos.endpoint)}/${settings.sink.cos.bucket}`;
  return Object.freeze({
    version,
    brokers: Object.freeze(settings.kafka.brokers.map(brokerOf)),
    securityProtocol: settings.kafka.securityProtocol,
    topic: settings.topics.orders,
    dlqTopic: settings.topics.dlq,
    groupId: settings.consumer.groupId,
    sink,
    layout: settings.sink.layout,
  });
}

/** Health as `/healthz` and `/readyz` report it. */
export interface HealthView {
  readonly live: boolean;
  readonly ready: boolean;
  readonly reason?: string;
}

/** Builds the `/api/snapshot` body (a plain JSON value). */
export function buildSnapshot(
  consumer: ObservedConsumer,
  service: ServiceInfo,
  history: History,
  health: HealthView,
  options: { readonly now: number; readonly since: number },
): Record<string, unknown> {
  const m = consumer.metrics;
  const latency = m.latency.ms.summary();
  const num = (n: number) => Number.isNaN(n) ? null : Math.round(n * 100) / 100;
  const committed = m.committedByPartition();
  const lag = m.lagByPartition();
  const partitions = [...new Set([...committed.keys(), ...lag.keys()])].sort((a, b) => a - b);
  const scoring = consumer.scoring;
  const failures = new Map<string, number>();
  for (const f of scoring?.metrics().failures ?? []) {
    failures.set(f.file, (failures.get(f.file) ?? 0) + f.count);
  }
  const paused = new Set(m.pausedPartitions());
  return {
    now: options.now,
    service,
    health,
    totals: {
      consumed: m.consumed.value,
      stored: m.stored.value,
      deadLettered: m.deadLettered.value,
      retries: m.retries.value,
      fallbackScores: m.fallbackScores.value,
      inFlight: consumer.inFlight(),
      groupJoins: m.groupJoins.value,
      pausedPartitions: m.pausedPartitions(),
    },
    throughput: num(m.throughput.rate(options.now)),
    latencyMs: {
      count: latency.count,
      p50: num(latency.p50),
      p95: num(latency.p95),
      p99: num(latency.p99),
      max: num(latency.max),
    },
    history: history.since(options.since),
    riskByChannel: [...m.riskByChannel()].map(([channel, r]) => ({
      channel,
      count: r.count,
      mean: num(r.mean),
      max: num(r.max),
    })).sort((a, b) => a.channel.localeCompare(b.channel)),
    edgeByChannel: [...m.edgeByChannel()].map(([channel, e]) => ({
      channel,
      scored: e.scored,
      disagreements: e.disagreements,
    })).sort((a, b) => a.channel.localeCompare(b.channel)),
    edgeScoreInvalid: m.edgeScoreInvalid.value,
    topOrders: m.topOrders(),
    deadLetters: [...m.deadLetteredByReason].map(([reason, count]) => ({ reason, count })),
    partitions: partitions.map((p) => ({
      partition: p,
      committed: committed.get(p) ?? null,
      lag: lag.get(p) ?? null,
      paused: paused.has(p),
    })),
    scorers: (scoring?.status() ?? []).map((s) => ({
      channel: s.channel ?? null,
      name: s.name ?? null,
      file: s.file.split("/").at(-1) ?? s.file,
      source: s.source,
      state: s.state,
      restarts: s.restarts,
      failures: failures.get(s.file) ?? 0,
      lastError: s.lastError ?? null,
      lastFailure: s.lastFailure ?? null,
      memoryMb: s.memoryMb,
      deadlineMs: s.deadlineMs,
      rssMb: s.rssBytes === undefined ? null : Math.round(s.rssBytes / 1048576),
    })),
    scoring: scoring === undefined ? null : (({ scored, fallbacks, builtin, reloads }) => ({
      scored,
      fallbacks,
      builtin,
      reloads,
    }))(scoring.metrics()),
  };
}
