/**
 * `deno task dlq stats`: counts of a dead-letter topic by reason and by source partition, how many
 * failed again after a redrive, the oldest and newest failure, and one sample per reason, shown
 * safely. Pure: records in, report out.
 *
 * @module
 */
import {
  type DeadLetter,
  failedAtOf,
  headerText,
  reasonOf,
  redrivenFromOf,
  sourcePartitionOf,
} from "./record.ts";
import { safeBytes, safeText } from "./safe_text.ts";

/** The first dead letter of a reason, every field escaped and truncated for printing. */
export interface Sample {
  readonly reason: string;
  /** `<partition>@<offset>` in the dead-letter topic. */
  readonly at: string;
  readonly failed_at: string;
  /** `<partition>@<offset>` of the dead letter it was redriven from; null for a first failure. */
  readonly redriven_from: string | null;
  readonly key: string;
  readonly detail: string;
  readonly value: string;
}

/** The `stats` report (also its `--json` shape). */
export interface StatsReport {
  readonly topic: string;
  readonly total: number;
  /** Reason → count, most frequent first. */
  readonly by_reason: Readonly<Record<string, number>>;
  /** Source partition (of the orders topic) → count, by partition; `unknown` when unstated. */
  readonly by_source_partition: Readonly<Record<string, number>>;
  /** Records redriven before that failed again (they carry `dlq.redriven_from`). */
  readonly redriven: number;
  /** Earliest / latest failure time (ISO-8601), null for an empty topic. */
  readonly oldest: string | null;
  readonly newest: string | null;
  readonly samples: readonly Sample[];
}

/** Longest sample value / detail shown, in characters. */
export const SAMPLE_CHARS = 160;

/** Accumulates records into a {@linkcode StatsReport}. */
export class DlqStats {
  readonly #reasons = new Map<string, number>();
  readonly #partitions = new Map<string, number>();
  readonly #samples = new Map<string, Sample>();
  #total = 0;
  #redriven = 0;
  #oldest = Infinity;
  #newest = -Infinity;

  /** Counts one record. */
  add(record: DeadLetter): void {
    this.#total++;
    const reason = reasonOf(record);
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
    const source = String(sourcePartitionOf(record) ?? "unknown");
    this.#partitions.set(source, (this.#partitions.get(source) ?? 0) + 1);
    if (redrivenFromOf(record) !== undefined) this.#redriven++;
    const at = failedAtOf(record);
    this.#oldest = Math.min(this.#oldest, at);
    this.#newest = Math.max(this.#newest, at);
    if (!this.#samples.has(reason)) this.#samples.set(reason, sampleOf(record, reason, at));
  }

  /**
   * The report so far.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DlqStats } from "./stats.ts";
   * const s = new DlqStats();
   * s.add({ partition: 0, offset: "0", key: null, value: new TextEncoder().encode("\u001b[31m"),
   *   timestamp: 0, headers: { "dlq.reason": "invalid_json", "dlq.source.partition": "3" } });
   * const r = s.report("orders.dlq");
   * assert.deepEqual(r.by_reason, { invalid_json: 1 });
   * assert.deepEqual(r.by_source_partition, { "3": 1 });
   * assert.equal(r.redriven, 0);
   * assert.equal(r.samples[0]?.value, "\\x1b[31m");
   * ```
   */
  report(topic: string): StatsReport {
    const byCount = [...this.#reasons].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
    const byPartition = [...this.#partitions].sort(([a], [b]) => partitionOrder(a, b));
    const iso = (ms: number) => Number.isFinite(ms) ? new Date(ms).toISOString() : null;
    return {
      topic,
      total: this.#total,
      by_reason: Object.fromEntries(byCount),
      by_source_partition: Object.fromEntries(byPartition),
      redriven: this.#redriven,
      oldest: iso(this.#oldest),
      newest: iso(this.#newest),
      samples: byCount.map(([reason]) => this.#samples.get(reason)!),
    };
  }
}

function partitionOrder(a: string, b: string): number {
  const x = Number(a), y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
  return x - y;
}

function sampleOf(record: DeadLetter, reason: string, at: number): Sample {
  return {
    reason: safeText(reason, 60),
    at: `${record.partition}@${record.offset}`,
    failed_at: Number.isFinite(at) ? new Date(at).toISOString() : "?",
    redriven_from: redrivenFromOf(record) ?? null,
    key: safeBytes(record.key, 80),
    detail: safeText(headerText(record.headers, "dlq.detail") ?? "", SAMPLE_CHARS),
    value: safeBytes(record.value, SAMPLE_CHARS),
  };
}

/** The report as text for a terminal (every record-derived field already escaped). */
export function formatStats(r: StatsReport): string {
  if (r.total === 0) return `dead-letter topic "${r.topic}": empty\n`;
  const lines = [
    `dead-letter topic "${r.topic}": ${r.total} record${r.total === 1 ? "" : "s"}, ` +
    `failed ${r.oldest} .. ${r.newest}`,
    "",
    "by reason:",
    ...Object.entries(r.by_reason).map(([k, n]) =>
      `  ${String(n).padStart(8)}  ${safeText(k, 60)}`
    ),
    "",
    "by source partition:",
    ...Object.entries(r.by_source_partition).map(([k, n]) => `  ${String(n).padStart(8)}  ${k}`),
    "",
    `redriven before and dead-lettered again (dlq.redriven_from): ${r.redriven}`,
    "",
    "one sample per reason (escaped, truncated):",
  ];
  for (const s of r.samples) {
    lines.push(
      `  ${s.reason} at ${s.at}, failed ${s.failed_at}${
        s.redriven_from === null ? "" : `, redriven from ${s.redriven_from}`
      }`,
      `    key:    ${s.key}`,
      `    detail: ${s.detail}`,
      `    value:  ${s.value}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
