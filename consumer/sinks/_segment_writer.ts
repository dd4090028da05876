/**
 * The objects of a segment: one per `dt`, named by `segment_key.ts`, written through the inner
 * sink, and the smaller versions a later write supersedes removed (see `batched.ts`).
 *
 * @module
 */
import { segmentKey } from "./segment_key.ts";
import type { Sink } from "./types.ts";

/** One prepared record to append. */
export interface BatchedItem {
  /** Kafka offset (decimal string); offsets of a partition must be appended ascending. */
  readonly offset: string;
  /** `YYYY-MM-DD`: the `dt=` the record belongs to. */
  readonly dt: string;
  /** One NDJSON line (ending in `\n`). */
  readonly body: Uint8Array;
  /** Called once, when the record first lands in a written object. */
  readonly onWritten?: () => void;
}

/** An appended record and its offset as a number. */
export interface Item extends BatchedItem {
  readonly off: bigint;
}

/** A segment's records so far (a partition's offsets `[index·N, (index+1)·N)`). */
export interface Segment {
  readonly index: bigint;
  readonly items: Item[];
  /** Items (a prefix) contained in the objects last written. */
  written: number;
  /** When the oldest unwritten item was appended. */
  dirtySince: number;
  /** A tail write of this segment is queued. */
  queued: boolean;
}

/** What the batched sink holds of one partition. */
export interface PartitionState {
  epoch: number;
  /**
   * Per segment index, then per `dt` and first offset: the greatest version this member has made
   * durable since it last read the partition from its commit. Dropped once the segment's complete
   * objects are durable, and on a discard (a version written before it stays behind; readers
   * skip it).
   */
  readonly versions: Map<bigint, Map<string, { key: string; last: bigint }>>;
  open: Segment | undefined;
  sealed: Segment[];
  /** Offsets of sealed segments written since `flushSealed` last returned (see there). */
  durable: string[];
  chain: Promise<unknown>;
  failures: number;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes segments' objects and removes the versions they supersede. */
export class SegmentWriter {
  readonly #inner: Sink;
  readonly #log: (line: string) => void;

  /** `inner`: where objects go; `log`: failed removals. */
  constructor(inner: Sink, log: (line: string) => void) {
    this.#inner = inner;
    this.#log = log;
  }

  /** Writes the first `count` items of a segment: one object per dt, all at once. */
  async write(partition: number, st: PartitionState, seg: Segment, count: number): Promise<void> {
    const groups = new Map<string, Item[]>();
    for (const item of seg.items.slice(0, count)) {
      let group = groups.get(item.dt);
      if (group === undefined) groups.set(item.dt, group = []);
      group.push(item);
    }
    const written = await Promise.all(
      [...groups].map(async ([dt, items]) => {
        const first = items[0]!;
        const last = items.at(-1)!.off;
        const key = segmentKey(dt, partition, first.off, last);
        await this.#inner.write(key, concat(items.map((i) => i.body)), {
          partition,
          offset: first.offset,
        });
        return { group: `${dt}/${first.off}`, key, last };
      }),
    );
    for (const item of seg.items.slice(seg.written, count)) item.onWritten?.();
    if (count > seg.written) seg.written = count;
    let versions = st.versions.get(seg.index);
    if (versions === undefined) st.versions.set(seg.index, versions = new Map());
    for (const w of written) this.#supersede(partition, versions, w.group, w.key, w.last);
  }

  /**
   * Records a durable version and removes the smaller of it and the version of the same `dt` and
   * first offset recorded before: both are this member's own, both hold the log's records from
   * that first offset on, and the greater one is durable, so it contains the smaller one. A
   * removal that fails leaves a smaller version behind, which readers skip: logged, not retried.
   */
  #supersede(
    partition: number,
    versions: Map<string, { key: string; last: bigint }>,
    group: string,
    key: string,
    last: bigint,
  ): void {
    const before = versions.get(group);
    if (before?.key === key) return;
    let stale = before?.key;
    if (before === undefined || last > before.last) versions.set(group, { key, last });
    else stale = key;
    if (stale === undefined || this.#inner.remove === undefined) return;
    this.#inner.remove(stale).catch((error) =>
      this.#log(
        `consumer: cannot remove the superseded segment object ${stale} of partition ` +
          `${partition} (readers skip it): ${(error as Error).message}`,
      )
    );
  }
}
