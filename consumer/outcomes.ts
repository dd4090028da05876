/**
 * One consumed record, in the shape the handler needs, and what the handler says happened to it:
 * stored, dead-lettered (with the reason), to retry, or prepared for a layout that writes the
 * bodies itself.
 *
 * @module
 */

/** A kafkajs header value. */
export type HeaderValue = string | Uint8Array | readonly (string | Uint8Array)[];

/** One consumed record, in the shape the handler needs (a subset of kafkajs' message). */
export interface ConsumedRecord {
  readonly partition: number;
  /** Decimal string, as kafkajs gives it. */
  readonly offset: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, HeaderValue | undefined>>;
  /** Record timestamp, epoch ms as a decimal string. */
  readonly timestamp: string;
}

/** Why a record went to the DLQ. */
export type DeadLetterReason =
  | "empty"
  | "oversized"
  | "undecodable"
  | "invalid_json"
  | "invalid_order"
  | "unsafe_order_id"
  | "sink_rejected";

/** A validation problem, as `OrderValidationError.issues` lists them. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** The record is durable in the sink. */
export interface StoredOutcome {
  readonly kind: "stored";
  readonly record: ConsumedRecord;
  readonly key: string;
  readonly orderId: string;
  readonly channel: string;
  readonly total: number;
  readonly riskScore: number;
  readonly scorer: string;
  readonly fallback: boolean;
  /** Produce → stored latency in ms, when the producer stamped `produced_at`. */
  readonly latencyMs: number | undefined;
  /** The producer's edge score (valid `risk.score` header), stored as `edge_risk_score`. */
  readonly edgeRiskScore?: number;
  /** True when the record had a `risk.score` header that is not a number in [0, 1] (ignored). */
  readonly edgeScoreInvalid?: boolean;
}

/** The record cannot ever be processed: the shell must send it to the DLQ. */
export interface DeadLetterOutcome {
  readonly kind: "dead-letter";
  readonly record: ConsumedRecord;
  readonly reason: DeadLetterReason;
  readonly detail: string;
  readonly issues?: readonly Issue[];
}

/** Processing failed for a reason that may pass (sink outage, scorer crash): retry it. */
export interface RetryableOutcome {
  readonly kind: "retryable-failure";
  readonly record: ConsumedRecord;
  readonly stage: "score" | "sink";
  readonly error: unknown;
}

/** What happened to one record. */
export type RecordOutcome = StoredOutcome | DeadLetterOutcome | RetryableOutcome;

/** A valid, scored, enriched record ready to be written: the body and what its outcome says. */
export interface PreparedOutcome {
  readonly kind: "prepared";
  readonly record: ConsumedRecord;
  /** Per-order object key (`orders/dt=.../orderId=<id>.json`). */
  readonly key: string;
  /** UTC date of `created_at` (`YYYY-MM-DD`), the `dt=` partition of the key. */
  readonly dt: string;
  /** One NDJSON line: the enriched order and `\n`. */
  readonly body: Uint8Array;
  /** The outcome to report once the body is durable (`latencyMs` is then recomputed). */
  readonly stored: StoredOutcome;
  /** `produced_at` epoch ms, when known. */
  readonly producedAt: number | undefined;
}

/** What {@linkcode prepareBatch} returns per record. */
export type PreparedRecord = PreparedOutcome | DeadLetterOutcome | RetryableOutcome;
