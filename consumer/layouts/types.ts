/**
 * The contract between the consumer-group member (`consumer/group_member.ts`) and a storage layout.
 *
 * The member owns Kafka: the group, fetching, pausing, heartbeats and the offset tracker's
 * bookkeeping of what was fetched. A layout owns everything between a fetched chunk and a commit:
 * handling records, writing them, dead-lettering bad ones, retrying through an outage, deciding
 * which offsets are durable and committing them. One module per layout: `per_order.ts`,
 * `batched.ts`.
 *
 * @module
 */
import type { EachBatchPayload } from "kafkajs";
import type { ConsumedRecord, ScoreFn } from "../handler.ts";
import type { DeadLetterPublisher } from "../dlq.ts";
import type { ConsumerMetrics } from "../metrics.ts";
import type { OffsetTracker } from "../offsets.ts";
import type { BackoffOptions } from "../retry.ts";

/** What a layout shares with the member that runs it. */
export interface MemberContext {
  /** The orders topic. */
  readonly topic: string;
  readonly score: ScoreFn;
  readonly now: () => number;
  /** Records with larger values are dead-lettered. */
  readonly maxBytes: number;
  readonly backoff: BackoffOptions | undefined;
  /** Fetched records per partition and their state; the member tracks, the layout marks. */
  readonly tracker: OffsetTracker;
  readonly metrics: ConsumerMetrics;
  readonly dlq: DeadLetterPublisher;
  readonly log: (line: string) => void;
  /** Aborted when the member stops: retry loops end, what is not durable stays uncommitted. */
  readonly stop: AbortSignal;
}

/** One partition's fetched batch, as a layout sees it. */
export interface BatchContext {
  readonly partition: number;
  readonly heartbeat: () => Promise<void>;
  /** Moves the partition's fetch position past `offset`. */
  readonly resolveOffset: (offset: string) => void;
  readonly commitOffsets: EachBatchPayload["commitOffsetsIfNecessary"];
  /** Stops fetching the partition during an outage; the member resumes it after the batch. */
  readonly pause: () => void;
}

/** A storage layout: how a chunk of records becomes durable, and which offsets may be committed. */
export interface Layout {
  /**
   * Handles a chunk (in offset order, already tracked) until every record is done or the member
   * stops, commits what became durable, and returns the retry attempts made so far (starting
   * from `attemptsSoFar`). Throws `StopRequested` (consumer/retry.ts) when stopped mid-retry.
   */
  processChunk(
    records: readonly ConsumedRecord[],
    batch: BatchContext,
    attemptsSoFar: number,
  ): Promise<number>;
  /** Records fetched and not yet durable, over all partitions. */
  inFlight(): number;
  /** Forgets what the layout holds of a partition (revoked, or about to be re-read). */
  discard(partition: number): void;
  /** Resolves once no commit is in flight (the member calls it when stopping). */
  idle(): Promise<void>;
}
