/**
 * One record of the dead-letter topic as the `dlq` task sees it, and the rules that read its
 * `dlq.*` headers (written by `consumer/dlq.ts`): reason, source partition/offset, failure time,
 * truncation. Also the headers a redriven copy carries.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** A header value as kafkajs delivers it on consume (a list when the name repeats). */
export type RawHeader = Buffer | string | (Buffer | string)[];

/** One record read from the dead-letter topic. */
export interface DeadLetter {
  /** Partition of the dead-letter topic. */
  readonly partition: number;
  /** Offset in that partition (decimal string, as kafkajs gives it). */
  readonly offset: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /** Headers exactly as read (the original record's headers plus the `dlq.*` ones). */
  readonly headers: Readonly<Record<string, RawHeader>>;
  /** Record timestamp, epoch ms. */
  readonly timestamp: number;
}

/** Prefix of the headers the consumer adds when it dead-letters a record. */
export const DLQ_HEADER_PREFIX = "dlq.";
/**
 * Header a redriven copy carries: `<partition>@<offset>` of the dead letter it came from. The
 * consumer keeps it when it dead-letters that copy again (`consumer/dlq.ts`), so a dead letter
 * with it was redriven before and failed again.
 */
export const REDRIVEN_FROM_HEADER = "dlq.redriven_from";
/** The reason shown for a record without a `dlq.reason` header (not written by orderflow). */
export const NO_REASON = "(none)";

/**
 * The text of header `name` (the first value when repeated), decoded as UTF-8; undefined when
 * absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Buffer } from "node:buffer";
 * import { headerText } from "./record.ts";
 * assert.equal(headerText({ "dlq.reason": Buffer.from("empty") }, "dlq.reason"), "empty");
 * assert.equal(headerText({}, "dlq.reason"), undefined);
 * ```
 */
export function headerText(
  headers: Readonly<Record<string, RawHeader | undefined>>,
  name: string,
): string | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return undefined;
  return typeof first === "string" ? first : first.toString("utf8");
}

/** `dlq.reason`, or {@linkcode NO_REASON}. */
export function reasonOf(record: DeadLetter): string {
  return headerText(record.headers, "dlq.reason") ?? NO_REASON;
}

/** `dlq.source.partition` (the partition of the orders topic it was consumed from), or undefined. */
export function sourcePartitionOf(record: DeadLetter): number | undefined {
  const text = headerText(record.headers, "dlq.source.partition");
  const n = text === undefined ? Number.NaN : Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * When the record was dead-lettered, epoch ms: `dlq.failed_at` when it parses, else the record
 * timestamp (the consumer sends it right after the failure, so the two agree).
 */
export function failedAtOf(record: DeadLetter): number {
  const text = headerText(record.headers, "dlq.failed_at");
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isFinite(ms) ? ms : record.timestamp;
}

/**
 * `dlq.redriven_from` — the `<partition>@<offset>` in this dead-letter topic of the dead letter
 * this record was redriven from — when it has that shape; undefined for a first failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redrivenFromOf } from "./record.ts";
 * const r = { partition: 1, offset: "9", key: null, value: null, timestamp: 0, headers: {} };
 * assert.equal(redrivenFromOf({ ...r, headers: { "dlq.redriven_from": "0@7" } }), "0@7");
 * assert.equal(redrivenFromOf({ ...r, headers: { "dlq.redriven_from": "x" } }), undefined);
 * assert.equal(redrivenFromOf(r), undefined);
 * ```
 */
export function redrivenFromOf(record: DeadLetter): string | undefined {
  const text = headerText(record.headers, REDRIVEN_FROM_HEADER);
  return text !== undefined && /^\d{1,10}@\d{1,20}$/.test(text) ? text : undefined;
}

/**
 * Whether the value is a cut copy (`dlq.truncated: true`): the consumer keeps at most ~900 KiB of
 * an oversized record; the whole one is only in the source topic.
 */
export function isTruncated(record: DeadLetter): boolean {
  return headerText(record.headers, "dlq.truncated") === "true";
}

/** Which dead letters a command applies to. */
export interface RecordFilter {
  /** Exact `dlq.reason`. */
  readonly reason?: string;
  /** Failed at or after (epoch ms, inclusive). */
  readonly sinceMs?: number;
  /** Failed before (epoch ms, exclusive). */
  readonly untilMs?: number;
}

/**
 * Whether `record` passes `filter` (reason equal; failure time, see {@linkcode failedAtOf}, in
 * `[sinceMs, untilMs)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matches } from "./record.ts";
 * const r = { partition: 0, offset: "1", key: null, value: null, timestamp: 0,
 *   headers: { "dlq.reason": "empty", "dlq.failed_at": "2026-12-01T00:00:00.000Z" } };
 * assert.ok(matches(r, { reason: "empty", sinceMs: Date.parse("2026-12-01") }));
 * assert.ok(!matches(r, { untilMs: Date.parse("2026-12-01") }));
 * ```
 */
export function matches(record: DeadLetter, filter: RecordFilter): boolean {
  if (filter.reason !== undefined && reasonOf(record) !== filter.reason) return false;
  if (filter.sinceMs === undefined && filter.untilMs === undefined) return true;
  const at = failedAtOf(record);
  if (filter.sinceMs !== undefined && at < filter.sinceMs) return false;
  if (filter.untilMs !== undefined && at >= filter.untilMs) return false;
  return true;
}

/**
 * Headers of the redriven copy: the original record's headers (every header not starting with
 * `dlq.`, bytes untouched) plus `dlq.redriven_from: <partition>@<offset>` of the dead letter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redriveHeaders } from "./record.ts";
 * const r = { partition: 0, offset: "7", key: null, value: null, timestamp: 0,
 *   headers: { schema: "orderflow.order.v1", "dlq.reason": "invalid_order" } };
 * assert.deepEqual(redriveHeaders(r),
 *   { schema: "orderflow.order.v1", "dlq.redriven_from": "0@7" });
 * ```
 */
export function redriveHeaders(record: DeadLetter): Record<string, RawHeader> {
  const out: Record<string, RawHeader> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!name.startsWith(DLQ_HEADER_PREFIX)) out[name] = value;
  }
  out[REDRIVEN_FROM_HEADER] = `${record.partition}@${record.offset}`;
  return out;
}
