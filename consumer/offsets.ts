/**
 * Per-partition tracker of in-flight offsets: decides what may be committed.
 *
 * The rule (README, "Delivery guarantees"): an offset is committable only when every record at or
 * below it is done — durable in the sink or acknowledged by the DLQ topic. A pending or failed
 * record blocks every later one, however many of those completed (the Vector #24215 bug is
 * committing past a failure).
 *
 * @module
 */

/** State of one tracked record. */
export type OffsetState = "pending" | "done" | "failed";

interface Entry {
  readonly offset: bigint;
  state: OffsetState;
}

interface PartitionState {
  /** Tracked entries in ascending offset order; `head` is the first one not yet released. */
  entries: Entry[];
  head: number;
  /** Offset of the last record released as done (contiguous prefix), if any. */
  released: bigint | undefined;
  /** Offset + 1 last handed out by `markCommitted`, if any. */
  committed: bigint | undefined;
}

/** Accepts kafkajs string offsets and bigint offsets alike. */
export type OffsetLike = bigint | string | number;

function toOffset(offset: OffsetLike): bigint {
  const value = typeof offset === "bigint" ? offset : BigInt(offset);
  if (value < 0n) throw new RangeError(`Cannot track offset ${value}: offsets are >= 0`);
  return value;
}

/**
 * Tracks records per partition in fetch order and computes the contiguous committable offset.
 *
 * Offsets need not be dense (compacted topics and transaction markers leave gaps): only the
 * offsets passed to {@linkcode OffsetTracker.track} count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OffsetTracker } from "./offsets.ts";
 * const t = new OffsetTracker();
 * for (const o of ["10", "11", "12"]) t.track(0, o);
 * t.markDone(0, "10");
 * t.markFailed(0, "11");
 * t.markDone(0, "12");
 * assert.equal(t.commitable(0), "11"); // 11 failed: nothing past it
 * t.markDone(0, "11");
 * assert.equal(t.commitable(0), "13");
 * ```
 */
export class OffsetTracker {
  #partitions = new Map<number, PartitionState>();

  #state(partition: number): PartitionState {
    let state = this.#partitions.get(partition);
    if (state === undefined) {
      state = { entries: [], head: 0, released: undefined, committed: undefined };
      this.#partitions.set(partition, state);
    }
    return state;
  }

  #find(partition: number, offset: OffsetLike): Entry {
    const value = toOffset(offset);
    const state = this.#partitions.get(partition);
    if (state !== undefined) {
      // Binary search over the unreleased window.
      let lo = state.head;
      let hi = state.entries.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const entry = state.entries[mid]!;
        if (entry.offset === value) return entry;
        if (entry.offset < value) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    throw new RangeError(`Cannot update offset ${value} of partition ${partition}: not tracked`);
  }

  /** Registers a fetched record as pending. Offsets of a partition must be tracked ascending. */
  track(partition: number, offset: OffsetLike): void {
    const value = toOffset(offset);
    const state = this.#state(partition);
    const last = state.entries.at(-1)?.offset ?? state.released;
    if (last !== undefined && value <= last) {
      throw new RangeError(
        `Cannot track offset ${value} of partition ${partition}: not above ${last}` +
          " (call reset() after a seek or rebalance)",
      );
    }
    state.entries.push({ offset: value, state: "pending" });
  }

  /** Marks a record done: durable in the sink or acknowledged by the DLQ. */
  markDone(partition: number, offset: OffsetLike): void {
    this.#find(partition, offset).state = "done";
  }

  /** Marks a record failed: it blocks every later offset until marked done. */
  markFailed(partition: number, offset: OffsetLike): void {
    const entry = this.#find(partition, offset);
    if (entry.state === "done") {
      throw new RangeError(
        `Cannot mark offset ${entry.offset} of partition ${partition} failed: already done`,
      );
    }
    entry.state = "failed";
  }

  /**
   * The offset to commit (kafkajs convention: last done offset + 1) such that every tracked record
   * at or below it is done, or `undefined` when no such record exists yet.
   */
  commitable(partition: number): string | undefined {
    const state = this.#partitions.get(partition);
    if (state === undefined) return undefined;
    while (state.head < state.entries.length && state.entries[state.head]!.state === "done") {
      state.released = state.entries[state.head]!.offset;
      state.head++;
    }
    if (state.head > 1024 && state.head * 2 > state.entries.length) {
      state.entries = state.entries.slice(state.head);
      state.head = 0;
    }
    return state.released === undefined ? undefined : String(state.released + 1n);
  }

  /**
   * The committable offset when it moved past what {@linkcode OffsetTracker.markCommitted}
   * recorded, else `undefined`: what the shell should commit now.
   */
  uncommitted(partition: number): string | undefined {
    const next = this.commitable(partition);
    if (next === undefined) return undefined;
    const committed = this.#partitions.get(partition)?.committed;
    return committed !== undefined && BigInt(next) <= committed ? undefined : next;
  }

  /**
   * Where to read the partition again from so that no record not yet done is skipped: the first
   * tracked offset not released as done (or last released + 1), `undefined` when nothing is
   * tracked. Use it when a partition is re-delivered from an unexpected offset.
   */
  resumeOffset(partition: number): string | undefined {
    const state = this.#partitions.get(partition);
    if (state === undefined) return undefined;
    this.commitable(partition);
    const pending = state.entries[state.head];
    if (pending !== undefined) return String(pending.offset);
    return state.released === undefined ? undefined : String(state.released + 1n);
  }

  /** Records that `offset` (last done + 1) was committed to the group coordinator. */
  markCommitted(partition: number, offset: OffsetLike): void {
    const state = this.#state(partition);
    const value = toOffset(offset);
    if (state.committed === undefined || value > state.committed) state.committed = value;
  }

  /** Number of tracked records not yet released as done (pending, failed or done-after-a-gap). */
  inFlight(partition: number): number {
    const state = this.#partitions.get(partition);
    if (state === undefined) return 0;
    this.commitable(partition);
    return state.entries.length - state.head;
  }

  /** Partitions with tracked state. */
  partitions(): readonly number[] {
    return Object.freeze([...this.#partitions.keys()].sort((a, b) => a - b));
  }

  /** Forgets a partition (after a rebalance revoked it, or a seek). */
  reset(partition: number): void {
    this.#partitions.delete(partition);
  }
}
