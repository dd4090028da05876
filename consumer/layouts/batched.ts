/**
 * Batched layout (`SINK_LAYOUT=batched`): records go into NDJSON segment objects through a
 * {@linkcode BatchedSink} (see `consumer/sinks/batched.ts` for the object names and why a late
 * write cannot lose committed records).
 *
 * A record is done once the complete segment holding it is written (or the DLQ acknowledged it):
 * records of a segment still filling are handled and written for readers, but not committed.
 * The fetch position moves past every handled chunk (so those records are not fetched again),
 * and commits are made in the batch, after each chunk, for the contiguous done prefix.
 *
 * @module
 */
import { type ConsumedRecord, prepareBatch, type PreparedRecord } from "../handler.ts";
import type { BatchedSink } from "../sinks/batched.ts";
import { heartbeating } from "../retry.ts";
import { Settler } from "./_settle.ts";
import type { BatchContext, Layout, MemberContext } from "./types.ts";

/** Groups records into segment objects through a {@linkcode BatchedSink}. */
export class BatchedLayout implements Layout {
  readonly #ctx: MemberContext;
  readonly #segments: BatchedSink;
  readonly #settler: Settler;
  /** Records waiting in a retry loop (DLQ or scoring), per partition. */
  readonly #retrying = new Map<number, number>();

  constructor(ctx: MemberContext, segments: BatchedSink) {
    this.#ctx = ctx;
    this.#segments = segments;
    this.#settler = new Settler(ctx);
  }

  /**
   * Prepares a chunk, dead-letters bad records, appends the rest to their segments, writes the
   * segments that are complete and marks their records done. Retries (with pause and backoff)
   * until the chunk is appended and every complete segment is written.
   */
  async processChunk(
    records: readonly ConsumedRecord[],
    batch: BatchContext,
    attemptsSoFar: number,
  ): Promise<number> {
    const { tracker, metrics } = this.#ctx;
    const partition = batch.partition;
    const state = { paused: false, attempt: attemptsSoFar };
    let pending: readonly ConsumedRecord[] = records;
    for (;;) {
      const started = performance.now();
      let failed: ConsumedRecord[] = [];
      if (pending.length > 0) {
        const prepared = await heartbeating(() =>
          prepareBatch(pending, {
            score: this.#ctx.score,
            now: this.#ctx.now,
            maxBytes: this.#ctx.maxBytes,
          }), batch.heartbeat);
        failed = await heartbeating(() => this.#settle(prepared), batch.heartbeat);
      }
      this.#retrying.set(partition, failed.length);
      let sinkFailed = false;
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
          return state.attempt;
        }
        sinkFailed = true;
        metrics.recordFailure("sink");
        this.#settler.lastError = `sink: ${(error as Error).message}`;
      }
      metrics.batchSeconds.observe((performance.now() - started) / 1000);
      await this.#commit(batch);
      if (failed.length === 0 && !sinkFailed) break;
      pending = failed;
      metrics.retries.inc(Math.max(1, failed.length));
      await this.#settler.retryRound(
        batch,
        state,
        failed.length > 0
          ? `${failed.length} record(s) failed from offset ${failed[0]!.offset}`
          : "a segment write failed",
        () => this.#segments.probe(),
      );
    }
    this.#retrying.set(partition, 0);
    // Records of a segment still filling are handled: fetching them again would append twice.
    batch.resolveOffset(records.at(-1)!.offset);
    return state.attempt;
  }

  /** Dead-letters and appends; returns the records to retry (DLQ, scoring). */
  async #settle(prepared: readonly PreparedRecord[]): Promise<ConsumedRecord[]> {
    const failed: ConsumedRecord[] = [];
    this.#settler.lastError = undefined;
    const dead = prepared.filter((o) => o.kind === "dead-letter");
    const dlqOk = await this.#settler.publishDeadLetters(dead);
    const { now, metrics } = this.#ctx;
    for (const o of prepared) {
      if (o.kind === "prepared") {
        this.#segments.append(o.record.partition, {
          offset: o.record.offset,
          dt: o.dt,
          body: o.body,
          onWritten: () =>
            metrics.recordStored({
              ...o.stored,
              latencyMs: o.producedAt === undefined ? undefined : now() - o.producedAt,
            }),
        });
      } else {
        this.#settler.settleUnstored(o, dlqOk, failed);
      }
    }
    return failed;
  }

  /** Commits the contiguous done prefix of the partition now (complete segments only). */
  async #commit(batch: BatchContext): Promise<void> {
    const { tracker, metrics } = this.#ctx;
    const offset = tracker.uncommitted(batch.partition);
    if (offset === undefined) return;
    await batch.commitOffsets({
      topics: [{ topic: this.#ctx.topic, partitions: [{ partition: batch.partition, offset }] }],
    });
    tracker.markCommitted(batch.partition, offset);
    metrics.setCommitted(batch.partition, offset);
  }

  inFlight(): number {
    let n = 0;
    for (const v of this.#retrying.values()) n += v;
    return n + this.#segments.unwrittenTotal();
  }

  discard(partition: number): void {
    this.#segments.discard(partition);
  }

  idle(): Promise<void> {
    return Promise.resolve();
  }
}
