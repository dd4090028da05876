/**
 * Dead-letter publishing: bad records go to the DLQ topic with their original key, value and
 * headers plus `dlq.*` headers saying why. A dead-lettered record counts as done (its offset may
 * be committed) only once the broker acknowledged it with acks=all.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Producer } from "kafkajs";
import type { DeadLetterOutcome, HeaderValue } from "./handler.ts";

/** Longest `dlq.detail` header value, in characters. */
export const DLQ_DETAIL_LIMIT = 1024;

/** Options for {@linkcode DeadLetterPublisher}. */
export interface DeadLetterPublisherOptions {
  /** The DLQ topic (`orders.dlq`). */
  readonly topic: string;
  /** The topic the records were consumed from (`orders`). */
  readonly sourceTopic: string;
  /** Clock, epoch ms (default `Date.now`). */
  readonly now?: () => number;
}

/** A header map as kafkajs sends it. */
export type DlqHeaders = Record<string, Buffer | string | (Buffer | string)[]>;

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function copyHeader(value: HeaderValue): Buffer | string | (Buffer | string)[] {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return toBuffer(value);
  return value.map((v) => typeof v === "string" ? v : toBuffer(v));
}

/** Truncates `text` to `limit` characters, marking the cut. */
export function boundDetail(text: string, limit: number = DLQ_DETAIL_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/**
 * The headers of the DLQ copy of a record: its original headers (a producer's own `dlq.*`
 * headers are replaced) plus `dlq.reason`, `dlq.detail` (at most {@linkcode DLQ_DETAIL_LIMIT}
 * characters), `dlq.source.topic`, `dlq.source.partition`, `dlq.source.offset`, `dlq.failed_at`
 * (ISO-8601).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dlqHeaders } from "./dlq.ts";
 * const record = { partition: 2, offset: "7", key: null, value: null, headers: { schema: "v1" },
 *   timestamp: "0" };
 * const h = dlqHeaders({ kind: "dead-letter", record, reason: "empty", detail: "no value" },
 *   "orders", 0);
 * assert.equal(h["dlq.reason"], "empty");
 * assert.equal(h["dlq.source.offset"], "7");
 * assert.equal(h["schema"], "v1");
 * ```
 */
export function dlqHeaders(
  outcome: DeadLetterOutcome,
  sourceTopic: string,
  failedAt: number,
): DlqHeaders {
  const headers: DlqHeaders = {};
  for (const [name, value] of Object.entries(outcome.record.headers)) {
    if (value !== undefined && !name.startsWith("dlq.")) headers[name] = copyHeader(value);
  }
  headers["dlq.reason"] = outcome.reason;
  headers["dlq.detail"] = boundDetail(outcome.detail);
  headers["dlq.source.topic"] = sourceTopic;
  headers["dlq.source.partition"] = String(outcome.record.partition);
  headers["dlq.source.offset"] = outcome.record.offset;
  headers["dlq.failed_at"] = new Date(failedAt).toISOString();
  return headers;
}

/** Publishes dead-letter outcomes to the DLQ topic with acks=all. */
export class DeadLetterPublisher {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #sourceTopic: string;
  readonly #now: () => number;

  /** Wraps a connected kafkajs producer (create it with `idempotent: true`). */
  constructor(producer: Producer, options: DeadLetterPublisherOptions) {
    this.#producer = producer;
    this.#topic = options.topic;
    this.#sourceTopic = options.sourceTopic;
    this.#now = options.now ?? Date.now;
  }

  /** The DLQ topic. */
  get topic(): string {
    return this.#topic;
  }

  /**
   * Sends the records in one request (keys and values byte-for-byte as consumed) and resolves when
   * every one is acknowledged by all in-sync replicas; rejects otherwise (then none counts as done).
   */
  async publish(outcomes: readonly DeadLetterOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const failedAt = this.#now();
    await this.#producer.send({
      topic: this.#topic,
      acks: -1,
      messages: outcomes.map((o) => ({
        key: o.record.key === null ? null : toBuffer(o.record.key),
        value: o.record.value === null ? null : toBuffer(o.record.value),
        headers: dlqHeaders(o, this.#sourceTopic, failedAt),
      })),
    });
  }
}
