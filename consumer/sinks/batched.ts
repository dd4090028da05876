/**
 * Batched layout (`SINK_LAYOUT=batched`): NDJSON objects holding many orders, one object per
 * partition × offset segment × order date, written through an inner {@linkcode Sink} (local disk
 * or COS — the keys are the same):
 *
 * ```
 * orders/dt=YYYY-MM-DD/part=<partition>/offset=<first>-<last>.ndjson
 * ```
 *
 * Segments are aligned offset ranges `[k·N, (k+1)·N)` of one partition (N = `records`, default
 * 1000). An object holds the segment's records of one `dt` from `first` to `last` (Kafka offsets,
 * see `segment_key.ts`). A segment still filling is written every `maxAgeMs` (default 5000) so
 * readers see records within about that time on a slow stream; each such write is a new object
 * with a greater `last`, and once it is durable the writer removes the smaller version (same `dt`
 * and `first`) it wrote before. Readers take, per `dt`, partition and `first`, the greatest `last`.
 *
 * No object is ever replaced by one with fewer records: a name fixes its records, because the log
 * does and because whether a record is stored depends on the record alone (consumer/handler.ts).
 * A member that lost its partition without noticing (frozen past the session timeout, cut off
 * from Kafka) may still land a late write, but that write adds a smaller version or rewrites an
 * identical one; it cannot shrink the complete object the partition's new owner committed. A
 * writer removes only versions contained in one it has made durable itself, so the greatest
 * version of a segment is never removed by anyone.
 *
 * Commits: only complete ("sealed") segments are reported durable to the shell
 * ({@linkcode BatchedSink.flushSealed}), and the shell commits segment boundaries only
 * (consumer/layouts/batched.ts), so a re-read starts where the objects' names start. The cost:
 * up to N−1 records per partition are re-processed after a restart, and a takeover can leave
 * smaller versions behind (readers skip them; nobody else knows their names to remove them).
 *
 * @module
 */
import type { Sink } from "./types.ts";
import {
  type BatchedItem,
  type PartitionState,
  type Segment,
  SegmentWriter,
} from "./_segment_writer.ts";

export type { BatchedItem } from "./_segment_writer.ts";

/** Options for {@linkcode BatchedSink}. */
export interface BatchedSinkOptions {
  /** Where objects go (a `LocalSink` or `CosSink`). */
  readonly inner: Sink;
  /** Segment size N: objects cover offsets `[k·N, (k+1)·N)` (default 1000). */
  readonly records?: number;
  /** A segment still filling is written when its oldest unwritten record is this old (5000). */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
  /** Log lines (tail-write failures). */
  readonly log?: (line: string) => void;
}

/**
 * Groups records into deterministic NDJSON segment objects (see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BatchedSink } from "./batched.ts";
 * import { segmentKey } from "./segment_key.ts";
 * import type { Sink } from "./types.ts";
 * const objects = new Map<string, string>();
 * const inner: Sink = {
 *   name: "memory",
 *   write: (key, body) => Promise.resolve(void objects.set(key, new TextDecoder().decode(body))),
 *   remove: (key) => Promise.resolve(void objects.delete(key)),
 *   probe: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * };
 * const sink = new BatchedSink({ inner, records: 2 });
 * const line = (s: string) => new TextEncoder().encode(s + "\n");
 * for (const o of ["0", "1", "2"]) sink.append(0, { offset: o, dt: "2026-11-26", body: line(o) });
 * assert.deepEqual(await sink.flushSealed(0), ["0", "1"]); // offset 2 opens segment [2, 4)
 * assert.equal(objects.get(segmentKey("2026-11-26", 0, 0n, 1n)), "0\n1\n");
 * await sink.close(); // writes the open segment too (durable, but not reported for commit)
 * assert.equal(objects.get(segmentKey("2026-11-26", 0, 2n, 2n)), "2\n");
 * ```
 */
export class BatchedSink {
  readonly #inner: Sink;
  readonly #writer: SegmentWriter;
  readonly #parts = new Map<number, PartitionState>();
  readonly #n: bigint;
  readonly #maxAge: number;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** Creates the sink; nothing is written until segments fill or age. */
  constructor(options: BatchedSinkOptions) {
    const records = options.records ?? 1000;
    if (!Number.isSafeInteger(records) || records < 1) {
      throw new RangeError(`Cannot create batched sink: records ${records} is not >= 1`);
    }
    const maxAge = options.maxAgeMs ?? 5000;
    if (!Number.isFinite(maxAge) || maxAge < 1) {
      throw new RangeError(`Cannot create batched sink: maxAgeMs ${maxAge} is not >= 1`);
    }
    this.#inner = options.inner;
    this.#n = BigInt(records);
    this.#maxAge = maxAge;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#writer = new SegmentWriter(this.#inner, this.#log);
  }

  /** `batched+<inner>`. */
  get name(): string {
    return `batched+${this.#inner.name}`;
  }

  /** Segment size N. */
  get records(): number {
    return Number(this.#n);
  }

  #state(partition: number): PartitionState {
    let st = this.#parts.get(partition);
    if (st === undefined) {
      st = {
        epoch: 0,
        versions: new Map(),
        open: undefined,
        sealed: [],
        durable: [],
        chain: Promise.resolve(),
        failures: 0,
      };
      this.#parts.set(partition, st);
    }
    return st;
  }

  #seal(st: PartitionState): void {
    if (st.open === undefined) return;
    st.sealed.push(st.open);
    st.open = undefined;
  }

  /**
   * Adds a record to its partition's segment. Seals the open segment when the record belongs to
   * a later one, and the record's own segment when it is the segment's last possible offset.
   * Nothing is written here: see {@linkcode BatchedSink.flushSealed}.
   */
  append(partition: number, item: BatchedItem): void {
    if (this.#closed) throw new TypeError("Cannot append to a closed batched sink");
    const off = BigInt(item.offset);
    const st = this.#state(partition);
    const last = st.open?.items.at(-1)?.off ?? st.sealed.at(-1)?.items.at(-1)?.off;
    if (last !== undefined && off <= last) {
      throw new RangeError(
        `Cannot append offset ${off} to partition ${partition}: not above ${last} (discard first)`,
      );
    }
    const index = off / this.#n;
    if (st.open !== undefined && st.open.index !== index) this.#seal(st);
    if (st.open === undefined) {
      st.open = { index, items: [], written: 0, dirtySince: this.#now(), queued: false };
    }
    const seg = st.open;
    if (seg.written === seg.items.length) seg.dirtySince = this.#now();
    seg.items.push({ ...item, off });
    if (off === (index + 1n) * this.#n - 1n) this.#seal(st);
    this.#timer ??= setInterval(
      () => this.#tick(),
      Math.max(20, Math.min(1000, Math.floor(this.#maxAge / 5))),
    );
  }

  #enqueue<R>(st: PartitionState, job: () => Promise<R>): Promise<R> {
    const run = st.chain.then(job, job);
    st.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes the partition's sealed segments (in order, after any write already queued) and
   * resolves with the offsets they hold: those records are durable and complete, their offsets
   * commitable. Rejects with the inner sink's error when a write fails; the failed segment and
   * those after it stay queued for the next call, and the offsets of the segments written before
   * it are kept for the next call's result (returned once, never dropped: a dropped offset would
   * hold the partition's commit back for good).
   */
  flushSealed(partition: number): Promise<readonly string[]> {
    const st = this.#state(partition);
    const epoch = st.epoch;
    if (st.sealed.length === 0 && st.durable.length === 0) return Promise.resolve([]);
    return this.#enqueue(st, async () => {
      while (st.epoch === epoch && st.sealed.length > 0) {
        const seg = st.sealed[0]!;
        if (seg.written < seg.items.length) {
          await this.#writer.write(partition, st, seg, seg.items.length);
          // Discarded meanwhile: `sealed` and `durable` now belong to the next epoch.
          if (st.epoch !== epoch) return [];
        }
        st.sealed.shift();
        st.versions.delete(seg.index);
        for (const item of seg.items) st.durable.push(item.offset);
      }
      if (st.epoch !== epoch) return [];
      const done = st.durable;
      st.durable = [];
      return done;
    });
  }

  /** Writes every open segment whose oldest unwritten record is older than `maxAgeMs`. */
  #tick(): void {
    const now = this.#now();
    for (const [partition, st] of this.#parts) {
      const seg = st.open;
      if (seg === undefined || seg.queued || seg.written === seg.items.length) continue;
      if (now - seg.dirtySince < this.#maxAge) continue;
      seg.queued = true;
      void this.#writeTail(partition, st, seg, st.epoch);
    }
  }

  async #writeTail(
    partition: number,
    st: PartitionState,
    seg: Segment,
    epoch: number,
  ): Promise<void> {
    try {
      await this.#enqueue(st, async () => {
        if (st.epoch !== epoch || seg.written === seg.items.length) return;
        await this.#writer.write(partition, st, seg, seg.items.length);
      });
      st.failures = 0;
    } catch (error) {
      // Handled: the segment stays dirty and the next tick (or the seal) writes it again.
      if (st.failures++ % 10 === 0) {
        this.#log(
          `consumer: cannot write the open segment of partition ${partition} ` +
            `(will retry): ${(error as Error).message}`,
        );
      }
    } finally {
      seg.queued = false;
    }
  }

  /** Records appended to `partition` and not yet in a written object. */
  unwritten(partition: number): number {
    const st = this.#parts.get(partition);
    if (st === undefined) return 0;
    let n = 0;
    for (const seg of st.sealed) n += seg.items.length - seg.written;
    if (st.open !== undefined) n += st.open.items.length - st.open.written;
    return n;
  }

  /** Records appended and not yet in a written object, over all partitions. */
  unwrittenTotal(): number {
    let n = 0;
    for (const p of this.#parts.keys()) n += this.unwritten(p);
    return n;
  }

  /**
   * Forgets a partition's segments (revoked by a rebalance, or re-delivered after a seek); queued
   * writes of it are skipped. Its records are uncommitted and will be re-read from the commit.
   */
  discard(partition: number): void {
    const st = this.#parts.get(partition);
    if (st === undefined) return;
    st.epoch++;
    st.open = undefined;
    st.sealed = [];
    st.durable = [];
    st.versions.clear();
  }

  /** Forgets every partition (see {@linkcode BatchedSink.discard}). */
  discardAll(): void {
    for (const p of this.#parts.keys()) this.discard(p);
  }

  /** The inner sink's readiness. */
  probe(): Promise<void> {
    return this.#inner.probe();
  }

  /**
   * Writes what is still unwritten (sealed and open segments — durable for readers; their
   * offsets stay uncommitted), then closes the inner sink. Write failures are logged, not
   * thrown: those records are uncommitted and re-read by the next run.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await Promise.all(
      [...this.#parts].map(async ([partition, st]) => {
        const segs = [...st.sealed, ...(st.open === undefined ? [] : [st.open])];
        try {
          await this.#enqueue(st, async () => {
            for (const seg of segs) {
              if (seg.written < seg.items.length) {
                await this.#writer.write(partition, st, seg, seg.items.length);
              }
            }
          });
        } catch (error) {
          this.#log(
            `consumer: cannot write the last segments of partition ${partition} on close ` +
              `(they stay uncommitted): ${(error as Error).message}`,
          );
        }
      }),
    );
    await this.#inner.close();
  }
}
