/**
 * Deciding, for a batch of dead letters read from one partition, which to redrive, on a copy of
 * the partition's {@linkcode PartitionLedger} that becomes the real one only once the sends are
 * acknowledged. Pure: no Kafka here.
 *
 * @module
 */
import type { PartitionLedger } from "./ledger.ts";
import { type DeadLetter, isTruncated, matches, reasonOf, type RecordFilter } from "./record.ts";

/** What a redrive does with one dead letter. */
export type Disposition =
  /** Republished to `ORDERS_TOPIC` in this run (or would be, with `--dry-run`). */
  | "sent"
  /** Already republished by an earlier run (below the committed offset or listed). */
  | "already_sent"
  /** Left out by the filters; kept for a later redrive. */
  | "held"
  /** A cut copy of an oversized record: never redriven (the whole one is in the source topic). */
  | "truncated"
  /** Matched, but the group's metadata has no room to record it: left for a later run. */
  | "deferred";

/** Every disposition, in report order. */
export const DISPOSITIONS: readonly Disposition[] = Object.freeze([
  "sent",
  "already_sent",
  "held",
  "truncated",
  "deferred",
]);

/** The plan for one batch. */
export interface BatchPlan {
  /** The ledger as it will be once every record of `toSend` is acknowledged. */
  readonly ledger: PartitionLedger;
  /** Records to republish, in offset order. */
  readonly toSend: readonly DeadLetter[];
  /** Each record with its disposition and reason, in offset order. */
  readonly outcomes: readonly { readonly reason: string; readonly disposition: Disposition }[];
  /** Whether the ledger ran out of metadata room (later records of the partition: deferred). */
  readonly full: boolean;
}

/**
 * Plans `records` (one partition, offset order) against `ledger` (left unchanged). `full`: the
 * ledger already ran out of room in this run, so every matching record is deferred.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PartitionLedger } from "./ledger.ts";
 * import { planBatch } from "./plan.ts";
 * const rec = (offset: string, reason: string) =>
 *   ({ partition: 0, offset, key: null, value: null, timestamp: 0, headers: { "dlq.reason": reason } });
 * const plan = planBatch(PartitionLedger.fromCommit("-1", null),
 *   [rec("0", "a"), rec("1", "b"), rec("2", "a")], { reason: "a" });
 * assert.deepEqual(plan.outcomes.map((o) => o.disposition), ["sent", "held", "sent"]);
 * assert.equal(plan.ledger.next, 1n);
 * ```
 */
export function planBatch(
  ledger: PartitionLedger,
  records: readonly DeadLetter[],
  filter: RecordFilter,
  full = false,
): BatchPlan {
  const draft = ledger.clone();
  const toSend: DeadLetter[] = [];
  const outcomes: { reason: string; disposition: Disposition }[] = [];
  for (const record of records) {
    const offset = BigInt(record.offset);
    const reason = reasonOf(record);
    let disposition: Disposition;
    if (draft.wasSent(offset)) {
      draft.finish(offset, { sent: true });
      disposition = "already_sent";
    } else if (isTruncated(record)) {
      draft.finish(offset, { sent: false });
      disposition = "truncated";
    } else if (!matches(record, filter)) {
      draft.hold(offset);
      disposition = "held";
    } else if (!full && draft.finish(offset, { sent: true })) {
      toSend.push(record);
      disposition = "sent";
    } else {
      full = true;
      draft.hold(offset);
      disposition = "deferred";
    }
    outcomes.push({ reason, disposition });
  }
  return { ledger: draft, toSend, outcomes, full };
}
