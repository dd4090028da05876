/**
 * Batched layout (`SINK_LAYOUT=batched`): records go into NDJSON segment objects through a
 * {@linkcode BatchedSink} (see `consumer/sinks/batched.ts` for the object names and why a late
 * write cannot lose committed records).
 *
 * A record is done once the complete segment holding it is written (or the DLQ acknowledged it):
 * records of a segment still filling are handled and written for readers, but not committed.
 * The fetch position moves past every handled chunk (so those records are not fetched again),
 * and commits are made in the batch, after each chunk.
 *
 * A commit lands only where the objects' names start: on a segment boundary, or on the offset
 * this member started reading the partition from. A commit inside a written segment (a dead
 * letter the DLQ did not take yet, with the records after it stored) would make the next owner
 * name its objects from another first offset: two overlapping versions, every order read twice.
 * Records after a scoring failure in a chunk wait for it (appends must ascend), so the segment
 * holds exactly the log's valid records whoever writes it.
 *
 * @module
 */
import {
  type ConsumedRecord,
  prepareBatch,
  type PreparedOutcome,
  type PreparedRecord,
} from "../handler.ts";
import type { BatchedSink } from "../sinks/batched.ts";
import { heartbeating } from "../retry.ts";
import { type Round, SettlingLayout } from "./_settle.ts";
import type { BatchContext, MemberContext } from "./types.ts";

/** Groups records into segment objects through a {@linkcode BatchedSink}. */
export class BatchedLayout extends SettlingLayout {
  readonly #segments: BatchedSink;
  /** Records waiting in a retry loop (DLQ or scoring), per partition. */
  readonly #retrying = new Map<number, number>();
  /** Per partition: the offset this member started reading it from (since the last discard). */
  readonly #readFrom = new Map<number, bigint>();
  /** Per partition: the offset last committed by this member. */
  readonly #committed = new Map<number, string>();

  constructor(ctx: MemberContext, segments: BatchedSink) {
    super(ctx);
    this.#segments = segments;
  }

  protected override begin(records: readonly ConsumedRecord[], batch: BatchContext): void {
    const partition = batch.partition;
    if (!this.#readFrom.has(partition)) this.#readFrom.set(partition, BigInt(records[0]!.offset));
  }

  /**
   * Prepares the pending records, dead-letters bad ones, appends the rest to their segments,
   * writes the segments that are complete and marks their records done. The loop retries (with
   * pause and backoff) until the chunk is appended and every complete segment is written.
   */
  protected async round(
    pending: readonly ConsumedRecord[],
    batch: BatchContext,
    records: readonly ConsumedRecord[],
  ): Promise<Round> {
    const { tracker, metrics } = this.ctx;
    const partition = batch.partition;
    let failed: ConsumedRecord[] = [];
    if (pending.length > 0) {
      const prepared = await heartbeating(
        () => prepareBatch(pending, this.prepareEnv),
        batch.heartbeat,
      );
      failed = await heartbeating(() => this.#settle(prepared), batch.heartbeat);
    }
    this.#retrying.set(partition, failed.length);
    try {
      const flushed = await heartbeating(
        () => this.#segments.flushSealed(partition),
        batch.heartbeat,
      );
      for (const offset of flushed) tracker.markDone(partition, offset);
    } catch (error) {
      if (error instanceof RangeError && !tracker.partitions().includes(partition)) {
        // The partition was revoked meanwhile; its records are re-read by its next owner.
        batch.resolveOffset(records.at(-1)!.offset);
        return { failed, revoked: true };
      }
      metrics.recordFailure("sink");
      this.settler.lastError = `sink: ${(error as Error).message}`;
      return { failed, otherFailure: "a segment write failed" };
    }
    return { failed };
  }

  protected override end(records: readonly ConsumedRecord[], batch: BatchContext): void {
    this.#retrying.set(batch.partition, 0);
    // Records of a segment still filling are handled: fetching them again would append twice.
    batch.resolveOffset(records.at(-1)!.offset);
  }

  protected probe(): Promise<void> {
    return this.#segments.probe();
  }

  /**
   * Dead-letters and appends up to the first scoring failure; returns the records to retry (DLQ,
   * scoring, and everything after a scoring failure).
   */
  #settle(prepared: readonly PreparedRecord[]): Promise<ConsumedRecord[]> {
    const failed: ConsumedRecord[] = [];
    this.settler.lastError = undefined;
    const cut = prepared.findIndex((o) => o.kind === "retryable-failure");
    for (const o of cut < 0 ? [] : prepared.slice(cut)) {
      if (o.kind === "retryable-failure") this.settler.settleUnstored(o, false, failed);
      else {
        this.ctx.tracker.markFailed(o.record.partition, o.record.offset);
        failed.push(o.record);
      }
    }
    const { metrics } = this.ctx;
    return this.settler.settle(
      cut < 0 ? prepared : prepared.slice(0, cut),
      (o: PreparedOutcome) =>
        this.#segments.append(o.record.partition, {
          offset: o.record.offset,
          dt: o.dt,
          body: o.body,
          onWritten: () =>
            metrics.recordStored({
              ...o.stored,
              latencyMs: o.producedAt === undefined ? undefined : this.ctx.now() - o.producedAt,
            }),
        }),
      failed,
    );
  }

  /**
   * Commits the contiguous done prefix of the partition, cut back to the last segment boundary
   * (or to where this member started reading, when that is later).
   */
  protected async commit(batch: BatchContext): Promise<void> {
    const { tracker, metrics } = this.ctx;
    const done = tracker.uncommitted(batch.partition);
    const from = this.#readFrom.get(batch.partition);
    if (done === undefined || from === undefined) return;
    const n = BigInt(this.#segments.records);
    const boundary = (BigInt(done) / n) * n;
    const offset = String(boundary > from ? boundary : from);
    if (offset === this.#committed.get(batch.partition)) return;
    await batch.commitOffsets({
      topics: [{ topic: this.ctx.topic, partitions: [{ partition: batch.partition, offset }] }],
    });
    tracker.markCommitted(batch.partition, offset);
    this.#committed.set(batch.partition, offset);
    metrics.setCommitted(batch.partition, offset);
  }

  inFlight(): number {
    let n = 0;
    for (const v of this.#retrying.values()) n += v;
    return n + this.#segments.unwrittenTotal();
  }

  discard(partition: number): void {
    this.#segments.discard(partition);
    this.#readFrom.delete(partition);
    this.#committed.delete(partition);
  }

  idle(): Promise<void> {
    return Promise.resolve();
  }
}
