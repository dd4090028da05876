/**
 * The report `deno task demo` prints: computed from what the sink actually stored (each file's
 * `latency_ms`, `risk_score`, `total`, `channel`), not from the consumer's own metrics.
 *
 * @module
 */
import { TopK } from "../core/top_k.ts";
import type { StoredOrder } from "./stored_orders.ts";

/** Risk statistics of one channel. */
export interface ChannelRisk {
  readonly channel: string;
  readonly count: number;
  readonly mean: number;
  readonly max: number;
}

/** One of the top orders by value. */
export interface TopOrder {
  readonly orderId: string;
  readonly channel: string;
  readonly total: number;
  readonly currency: string;
  readonly riskScore: number;
}

/** Everything the demo reports. */
export interface DemoReport {
  /** Orders the producer had acknowledged. */
  readonly produced: number;
  /** Order files found in the sink. */
  readonly stored: number;
  /** Records in the dead-letter topic. */
  readonly deadLettered: number;
  /** Seconds from the first produce to the last order stored. */
  readonly seconds: number;
  /** `stored / seconds`. */
  readonly throughput: number;
  /** Produce→consume latency percentiles (ms) from the stored `latency_ms` (nearest rank): taken when the order was scored, before its write. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly topByValue: readonly TopOrder[];
  readonly riskByChannel: readonly ChannelRisk[];
  /** Stored orders per `dt=` partition. */
  readonly perDay: readonly { readonly dt: string; readonly count: number }[];
}

/** Inputs to {@linkcode buildDemoReport} besides the stored orders. */
export interface DemoRunFacts {
  readonly produced: number;
  readonly deadLettered: number;
  /** Epoch ms when producing started. */
  readonly startedAtMs: number;
  /** Epoch ms when the last order was seen stored. */
  readonly finishedAtMs: number;
}

/**
 * Nearest-rank percentile of an ascending array (`NaN` when empty).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { percentile } from "./demo_report.ts";
 * equal(percentile([1, 2, 3, 4], 0.5), 2);
 * equal(percentile([1, 2, 3, 4], 0.99), 4);
 * ```
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

function num(body: Readonly<Record<string, unknown>>, field: string, key: string): number {
  const value = body[field];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`Cannot report on ${key}: "${field}" is not a number`);
  }
  return value;
}

function str(body: Readonly<Record<string, unknown>>, field: string, key: string): string {
  const value = body[field];
  if (typeof value !== "string") {
    throw new TypeError(`Cannot report on ${key}: "${field}" is not a string`);
  }
  return value;
}

/**
 * Computes the demo report from the stored orders. Throws `TypeError` when a stored order lacks
 * a field the report needs (`latency_ms`, `risk_score`, `total`, `channel`, ...).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { buildDemoReport } from "./demo_report.ts";
 * const body = (id: string, total: number, latency: number) => ({
 *   orderId: id, channel: "web", total, currency: "USD", latency_ms: latency, risk_score: 0.5,
 * });
 * const report = buildDemoReport([
 *   { key: "orders/dt=2026-11-26/orderId=a.json", dt: "2026-11-26", body: body("a", 10, 5) },
 *   { key: "orders/dt=2026-11-26/orderId=b.json", dt: "2026-11-26", body: body("b", 30, 7) },
 * ], { produced: 2, deadLettered: 0, startedAtMs: 0, finishedAtMs: 1000 });
 * equal(report.throughput, 2);
 * equal(report.topByValue[0]?.orderId, "b");
 * equal(report.latencyMs.p99, 7);
 * ```
 */
export function buildDemoReport(stored: readonly StoredOrder[], facts: DemoRunFacts): DemoReport {
  const latencies: number[] = [];
  const top = new TopK<TopOrder>(5, (o) => o.total);
  const risk = new Map<string, { count: number; sum: number; max: number }>();
  const days = new Map<string, number>();
  for (const { key, dt, body } of stored) {
    latencies.push(num(body, "latency_ms", key));
    const channel = str(body, "channel", key);
    const riskScore = num(body, "risk_score", key);
    top.push({
      orderId: str(body, "orderId", key),
      channel,
      total: num(body, "total", key),
      currency: str(body, "currency", key),
      riskScore,
    });
    const r = risk.get(channel) ?? { count: 0, sum: 0, max: -Infinity };
    r.count++;
    r.sum += riskScore;
    r.max = Math.max(r.max, riskScore);
    risk.set(channel, r);
    days.set(dt, (days.get(dt) ?? 0) + 1);
  }
  latencies.sort((a, b) => a - b);
  const seconds = Math.max(0.001, (facts.finishedAtMs - facts.startedAtMs) / 1000);
  return Object.freeze({
    produced: facts.produced,
    stored: stored.length,
    deadLettered: facts.deadLettered,
    seconds,
    throughput: stored.length / seconds,
    latencyMs: Object.freeze({
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      p99: percentile(latencies, 0.99),
    }),
    topByValue: Object.freeze(top.values()),
    riskByChannel: Object.freeze(
      [...risk.entries()]
        .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
        .map(([channel, r]) => ({ channel, count: r.count, mean: r.sum / r.count, max: r.max })),
    ),
    perDay: Object.freeze(
      [...days.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([dt, count]) => ({ dt, count })),
    ),
  });
}

/** Pads a table (first column left-aligned, the rest right-aligned). */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    "  " + cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * Renders the report as the text block the demo prints.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { buildDemoReport, formatDemoReport } from "./demo_report.ts";
 * const text = formatDemoReport(buildDemoReport([], {
 *   produced: 0, deadLettered: 0, startedAtMs: 0, finishedAtMs: 1,
 * }));
 * ok(text.includes("stored 0 of 0"));
 * ```
 */
export function formatDemoReport(report: DemoReport): string {
  const f2 = (n: number) => Number.isNaN(n) ? "-" : n.toFixed(2);
  const f0 = (n: number) => Number.isNaN(n) ? "-" : n.toFixed(0);
  return [
    `Orders: stored ${report.stored} of ${report.produced} produced; ` +
    `dead-lettered ${report.deadLettered}`,
    `Throughput: ${report.throughput.toFixed(0)} orders/s end to end ` +
    `(${report.stored} in ${report.seconds.toFixed(1)} s, first produce to last stored)`,
    `Latency produce→consume (latency_ms of the stored orders, before the write): p50 ${
      f0(report.latencyMs.p50)
    } ms, p95 ${f0(report.latencyMs.p95)} ms, p99 ${f0(report.latencyMs.p99)} ms`,
    "",
    "Top 5 orders by value:",
    table(
      ["orderId", "channel", "total", "risk"],
      report.topByValue.map((o) => [
        o.orderId,
        o.channel,
        `${o.total.toFixed(2)} ${o.currency}`,
        f2(o.riskScore),
      ]),
    ),
    "",
    "Risk by channel:",
    table(
      ["channel", "orders", "mean risk", "max risk"],
      report.riskByChannel.map((r) => [r.channel, String(r.count), f2(r.mean), f2(r.max)]),
    ),
    "",
    `Orders per day (dt=): ${report.perDay.map((d) => `${d.dt}: ${d.count}`).join(", ")}`,
  ].join("\n");
}
