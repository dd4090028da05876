/**
 * Per-order layout (the default): one object per order, `orders/dt=YYYY-MM-DD/orderId=<id>.json`.
 *
 * A record is done once its object is durable (or the DLQ acknowledged it). The fetch position
 * moves past the durable prefix at once and commits go out in the background, one OffsetCommit
 * request at a time covering every partition with new durable offsets: the group coordinator
 * handles a connection's requests one by one, so per-partition commits would queue behind each
 * other, and the next fetch need not wait for any of them. Each partition's committable offset
 * only grows, so commits stay in order; a failed commit is retried with backoff and its offsets
 * stay uncommitted until then (at worst re-delivered, never skipped).
 *
 * @module
 */
import {
  type ConsumedRecord,
  handleBatch,
  type RecordOutcome,
  type StoredOutcome,
} from "../handler.ts";
import type { Sink } from "../sinks/types.ts";
import { backoffDelay, delay } from "../../core/async.ts";
import { heartbeating } from "../retry.ts";
import { type Round, SettlingLayout } from "./_settle.ts";
import type { BatchContext, MemberContext } from "./types.ts";

/** Writes each order as its own object through a {@linkcode Sink}. */
export class PerOrderLayout extends SettlingLayout {
  readonly #sink: Sink;
  readonly #concurrency: number;
  /** Partitions with durable offsets the background committer should commit. */
  readonly #dirty = new Set<number>();
  /** The background commit loop while it runs (one OffsetCommit request in flight at most). */
  #committing: Promise<void> | undefined;
  #commitOffsets: BatchContext["commitOffsets"] | undefined;

  /** `concurrency`: concurrent sink writes per chunk. */
  constructor(ctx: MemberContext, sink: Sink, concurrency: number) {
    super(ctx);
    this.#sink = sink;
    this.#concurrency = concurrency;
  }

  /** Writes the pending records, publishes dead letters, marks what is durable done. */
  protected async round(
    pending: readonly ConsumedRecord[],
    batch: BatchContext,
  ): Promise<Round> {
    const outcomes = await heartbeating(() =>
      handleBatch(pending, {
        ...this.prepareEnv,
        sink: this.#sink,
        concurrency: this.#concurrency,
      }), batch.heartbeat);
    return { failed: await heartbeating(() => this.#settle(outcomes), batch.heartbeat) };
  }

  protected commit(batch: BatchContext): void {
    this.#commitDurable(batch);
  }

  protected probe(): Promise<void> {
    return this.#sink.probe();
  }

  /** Publishes dead letters, marks durable records done / failed ones failed; returns failures. */
  #settle(outcomes: readonly RecordOutcome[]): Promise<ConsumedRecord[]> {
    this.settler.lastError = undefined;
    return this.settler.settle(outcomes, (o: StoredOutcome) => {
      this.ctx.tracker.markDone(o.record.partition, o.record.offset);
      this.ctx.metrics.recordStored(o);
    }, []);
  }

  /** Moves the fetch position past the durable prefix and commits it in the background. */
  #commitDurable(batch: BatchContext): void {
    const next = this.ctx.tracker.commitable(batch.partition);
    if (next === undefined) return;
    batch.resolveOffset(String(BigInt(next) - 1n));
    this.#dirty.add(batch.partition);
    this.#commitOffsets = batch.commitOffsets;
    this.#committing ??= this.#commitLoop().finally(() => this.#committing = undefined);
  }

  async #commitLoop(): Promise<void> {
    const { tracker, metrics, stop } = this.ctx;
    let attempt = 0;
    while (this.#dirty.size > 0) {
      const partitions: { partition: number; offset: string }[] = [];
      for (const partition of this.#dirty) {
        const offset = tracker.uncommitted(partition);
        if (offset !== undefined) partitions.push({ partition, offset });
      }
      this.#dirty.clear();
      if (partitions.length === 0) return;
      try {
        await this.#commitOffsets!({ topics: [{ topic: this.ctx.topic, partitions }] });
      } catch (error) {
        for (const { partition } of partitions) this.#dirty.add(partition);
        attempt++;
        this.ctx.log(
          `consumer: cannot commit offsets of partition(s) ${
            partitions.map((p) => p.partition).join(",")
          }: ${(error as Error).message}; ${
            stop.aborted ? "stopping: left uncommitted" : "retrying"
          }`,
        );
        if (stop.aborted) return;
        await delay(backoffDelay(attempt, this.ctx.backoff), stop);
        continue;
      }
      attempt = 0;
      const owned = new Set(tracker.partitions());
      for (const { partition, offset } of partitions) {
        if (!owned.has(partition)) continue; // revoked meanwhile (rebalance reset its state)
        tracker.markCommitted(partition, offset);
        metrics.setCommitted(partition, offset);
      }
    }
  }

  inFlight(): number {
    let n = 0;
    for (const p of this.ctx.tracker.partitions()) n += this.ctx.tracker.inFlight(p);
    return n;
  }

  discard(_partition: number): void {
    // Nothing buffered: a record is either durable (and tracked as done) or handled again.
  }

  async idle(): Promise<void> {
    await this.#committing;
  }
}
