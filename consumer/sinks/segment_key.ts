/**
 * Object names of the batched layout, and the rule readers apply to them.
 *
 * ```
 * orders/dt=YYYY-MM-DD/part=<partition>/offset=<first>-<last>.ndjson   (offsets: 20 digits)
 * ```
 *
 * An object holds the records of one `dt` among the Kafka offsets `[first, last]` of one
 * partition, in offset order. Its name therefore fixes its contents: the Kafka log never changes,
 * so two writes of one name carry the same orders, whoever makes them and however late. A write
 * with more records has another name. That is what makes a late write by a member that lost its
 * partition harmless: it can add an object, never replace a bigger one.
 *
 * Read rule: objects with the same `dt`, partition and `first` are versions of one segment
 * growing at its end; read only the one with the greatest `last` (it contains the others).
 *
 * @module
 */

const SEGMENT_KEY =
  /^(?:(.*)\/)?orders\/dt=(\d{4}-\d{2}-\d{2})\/part=(\d{1,10})\/offset=(\d{20})-(\d{20})\.ndjson$/;

/** A parsed segment object name. */
export interface SegmentName {
  /** The whole key as given. */
  readonly key: string;
  /** What precedes `orders/` (a sink prefix or a local directory), `""` when nothing. */
  readonly root: string;
  readonly dt: string;
  readonly partition: number;
  /** Offset of the object's first record. */
  readonly first: bigint;
  /** Offset of the object's last record. */
  readonly last: bigint;
}

function pad(offset: bigint): string {
  return String(offset).padStart(20, "0");
}

/**
 * The key of the records of `dt` among offsets `[first, last]` of `partition`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segmentKey } from "./segment_key.ts";
 * assert.equal(
 *   segmentKey("2026-11-26", 3, 1000n, 1499n),
 *   "orders/dt=2026-11-26/part=3/offset=00000000000000001000-00000000000000001499.ndjson",
 * );
 * ```
 */
export function segmentKey(dt: string, partition: number, first: bigint, last: bigint): string {
  if (last < first) {
    throw new RangeError(`Cannot name a segment object: last offset ${last} < first ${first}`);
  }
  return `orders/dt=${dt}/part=${partition}/offset=${pad(first)}-${pad(last)}.ndjson`;
}

/**
 * Parses a segment object key (optionally under a prefix or directory); `undefined` when `key`
 * is not one (a per-order file, a temp file, something else).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSegmentKey } from "./segment_key.ts";
 * const name = parseSegmentKey(
 *   "orders/dt=2026-11-26/part=0/offset=00000000000000000000-00000000000000000299.ndjson",
 * );
 * assert.equal(name?.last, 299n);
 * assert.equal(parseSegmentKey("orders/dt=2026-11-26/orderId=a.json"), undefined);
 * ```
 */
export function parseSegmentKey(key: string): SegmentName | undefined {
  const m = SEGMENT_KEY.exec(key);
  if (m === null) return undefined;
  const first = BigInt(m[4]!);
  const last = BigInt(m[5]!);
  if (last < first) return undefined;
  return { key, root: m[1] ?? "", dt: m[2]!, partition: Number(m[3]), first, last };
}

/**
 * Applies the read rule: of the given keys, the segment objects to read (for each root, `dt`,
 * partition and first offset, the one with the greatest last offset), sorted by key. Keys that
 * are not segment objects are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readableSegments, segmentKey } from "./segment_key.ts";
 * const tail = segmentKey("2026-11-26", 0, 0n, 499n); // a late write of an older version
 * const whole = segmentKey("2026-11-26", 0, 0n, 999n);
 * const next = segmentKey("2026-11-26", 0, 1000n, 1200n);
 * assert.deepEqual(readableSegments([whole, tail, next]).map((s) => s.key), [whole, next]);
 * ```
 */
export function readableSegments(keys: Iterable<string>): SegmentName[] {
  const best = new Map<string, SegmentName>();
  for (const key of keys) {
    const name = parseSegmentKey(key);
    if (name === undefined) continue;
    const group = `${name.root}\n${name.dt}\n${name.partition}\n${name.first}`;
    const seen = best.get(group);
    if (seen === undefined || name.last > seen.last) best.set(group, name);
  }
  return [...best.values()].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
