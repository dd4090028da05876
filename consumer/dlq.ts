/**
 * Dead-letter publishing: bad records go to the DLQ topic with their original key, value and
 * headers plus `dlq.*` headers saying why. A dead-lettered record counts as done (its offset may
 * be committed) only once the broker acknowledged it with acks=all.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Partitioners, type Producer, type ProducerConfig } from "kafkajs";
import type { DeadLetterOutcome, HeaderValue } from "./handler.ts";

/**
 * kafkajs producer settings for the dead-letter topic: one request in flight (dead letters keep
 * their order), the client's bounded retries (then the worker's backoff, log line and
 * `dlqFailures` metric take over), kafkajs idempotence off, and kafkajs' default partitioner
 * (Java-compatible murmur2 of the key) named explicitly, which is what keeps kafkajs from warning
 * that its default changed in v2.
 *
 * Idempotence is off because kafkajs keeps its guarantee only with unlimited retries (else it
 * warns "Limiting retries for the idempotent producer may invalidate EoS guarantees"), and
 * neither choice suits a DLQ. Unlimited retries would hide an outage from the worker (a send
 * that never fails). Bounded ones leave a failed send's sequence number unused: when the broker
 * did write that send, the worker's re-send of the same number of records reuses the number and
 * the broker may acknowledge it as a duplicate without writing it, losing those dead letters.
 * Without idempotence a re-send writes them again: at worst a dead letter twice, which the
 * at-least-once guarantee allows anyway (a re-delivered record is dead-lettered again).
 */
export const DLQ_PRODUCER_CONFIG: Readonly<ProducerConfig> = Object.freeze({
  idempotent: false,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
});

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
  /**
   * Largest value copied whole into the DLQ, in bytes (default
   * {@linkcode DLQ_MAX_VALUE_BYTES}). A longer value is cut to this size and marked with the
   * headers `dlq.truncated` and `dlq.original.bytes`; the whole record stays in the source topic at
   * `dlq.source.partition`/`dlq.source.offset` until retention removes it.
   */
  readonly maxValueBytes?: number;
}

/**
 * Default {@linkcode DeadLetterPublisherOptions.maxValueBytes}: below Kafka's default
 * `max.message.bytes` (1 MiB) with room for the key, headers and batch overhead.
 */
export const DLQ_MAX_VALUE_BYTES = 900 * 1024;

/**
 * The value size used when the DLQ topic still refuses a copy as too large (its
 * `max.message.bytes` is below the default): 64 KiB.
 */
export const DLQ_FALLBACK_VALUE_BYTES = 64 * 1024;

/**
 * Most bytes of dead letters one send carries (key, value, headers and per-record overhead, see
 * {@link messageBytes}), unless one record alone is larger: 512 KiB. A send to one DLQ partition
 * is one record batch, and the broker refuses a batch over `max.message.bytes` (1 MiB by default)
 * as MESSAGE_TOO_LARGE, which no retry fixes: a round of many big dead letters in one send
 * stalled its partition. Half the default leaves room for the batch header and any error in
 * the estimate. With a smaller value cut (the option, or the fallback) the sends are bounded by
 * that cut instead, since the topic may take little more than one cut copy.
 */
export const DLQ_MAX_SEND_BYTES = 512 * 1024;

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
 * Header `deno task dlq redrive` puts on a redriven copy: `<partition>@<offset>` of the dead letter
 * it came from (`REDRIVEN_FROM_HEADER` in `dlq/record.ts`; neither folder may import the other,
 * `tests/tools_dlq_test.ts` proves the two agree).
 */
export const DLQ_REDRIVEN_FROM = "dlq.redriven_from";

/** The only shape `dlq redrive` writes: `<partition>@<offset>`, both decimal. */
const REDRIVEN_FROM_SHAPE = /^\d{1,10}@\d{1,20}$/;

/**
 * The `dlq.redriven_from` of an incoming record when it has the shape `dlq redrive` writes (one
 * value, `<partition>@<offset>`), else undefined.
 */
function redrivenFrom(value: HeaderValue | undefined): string | undefined {
  if (value === undefined || (typeof value !== "string" && !(value instanceof Uint8Array))) {
    return undefined; // absent, or repeated: not what redrive writes
  }
  const text = typeof value === "string" ? value : new TextDecoder().decode(value);
  return REDRIVEN_FROM_SHAPE.test(text) ? text : undefined;
}

/**
 * The headers of the DLQ copy of a record: its original headers plus `dlq.reason`, `dlq.detail`
 * (at most {@linkcode DLQ_DETAIL_LIMIT} characters), `dlq.source.topic`, `dlq.source.partition`,
 * `dlq.source.offset`, `dlq.failed_at` (ISO-8601).
 *
 * The incoming record's own `dlq.*` headers are dropped — the new ones describe this failure, not
 * an earlier one, and a producer must not be able to pose as the consumer — with one exception:
 * `dlq.redriven_from` (see {@linkcode DLQ_REDRIVEN_FROM}) is kept when it has the shape redrive
 * writes, so a redriven record that fails again still says which dead letter it was redriven from
 * (`dlq show`, `dlq stats`). Each redrive replaces it with the position of the dead letter it
 * sent, so the header points one generation back and the chain can be followed record by record.
 * It is what the record said, like any header: a producer could set it too.
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
  const from = redrivenFrom(outcome.record.headers[DLQ_REDRIVEN_FROM]);
  if (from !== undefined) headers[DLQ_REDRIVEN_FROM] = from;
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
  readonly #maxValueBytes: number;

  /** Wraps a connected kafkajs producer (create it with {@linkcode DLQ_PRODUCER_CONFIG}). */
  constructor(producer: Producer, options: DeadLetterPublisherOptions) {
    this.#producer = producer;
    this.#topic = options.topic;
    this.#sourceTopic = options.sourceTopic;
    this.#now = options.now ?? Date.now;
    this.#maxValueBytes = options.maxValueBytes ?? DLQ_MAX_VALUE_BYTES;
    if (!Number.isInteger(this.#maxValueBytes) || this.#maxValueBytes < 1) {
      throw new RangeError(
        `Cannot create the DLQ publisher: maxValueBytes must be a positive integer, got ${this.#maxValueBytes}`,
      );
    }
  }

  /** The DLQ topic. */
  get topic(): string {
    return this.#topic;
  }

  /**
   * Sends the records in order (keys and values byte-for-byte as consumed), in as many sends as
   * {@linkcode DLQ_MAX_SEND_BYTES} requires, each awaited before the next, and resolves when every
   * one is acknowledged by all in-sync replicas; rejects otherwise (then none counts as done, and
   * the retry sends the acknowledged ones again: a dead letter twice, never none).
   */
  async publish(outcomes: readonly DeadLetterOutcome[]): Promise<void> {
    const failedAt = this.#now();
    let maxValueBytes = this.#maxValueBytes;
    for (let start = 0; start < outcomes.length;) {
      const messages = this.#nextSend(outcomes, start, failedAt, maxValueBytes);
      try {
        await this.#producer.send({ topic: this.#topic, acks: -1, messages });
      } catch (error) {
        // A DLQ topic with a smaller max.message.bytes refuses even the cut copy; a retry cannot
        // fix that, and the partition would stall behind the record forever. Send the same
        // records as smaller copies, in smaller sends, and the rest of the round likewise.
        if (!isMessageTooLarge(error) || maxValueBytes <= DLQ_FALLBACK_VALUE_BYTES) throw error;
        maxValueBytes = DLQ_FALLBACK_VALUE_BYTES;
        continue;
      }
      start += messages.length;
    }
  }

  /**
   * The DLQ copies of `outcomes` from `start` that fit in one send: at most
   * `min(DLQ_MAX_SEND_BYTES, maxValueBytes)` bytes by {@link messageBytes}, or the first alone.
   */
  #nextSend(
    outcomes: readonly DeadLetterOutcome[],
    start: number,
    failedAt: number,
    maxValueBytes: number,
  ): DlqMessage[] {
    const limit = Math.min(DLQ_MAX_SEND_BYTES, maxValueBytes);
    const messages: DlqMessage[] = [];
    let bytes = 0;
    for (let i = start; i < outcomes.length; i++) {
      const message = dlqMessage(outcomes[i]!, this.#sourceTopic, failedAt, maxValueBytes);
      const size = messageBytes(message);
      if (messages.length > 0 && bytes + size > limit) break;
      messages.push(message);
      bytes += size;
    }
    return messages;
  }
}

/** A DLQ copy as {@linkcode dlqMessage} builds it. */
export type DlqMessage = { key: Buffer | null; value: Buffer | null; headers: DlqHeaders };

/**
 * Upper bounds of what a record adds to a record batch besides its key, value and header bytes:
 * the varints of its length, timestamp and offset deltas, key and value lengths and header count
 * plus its attributes byte (36), and the two length varints of each header value (10).
 */
const RECORD_OVERHEAD_BYTES = 36;
const HEADER_OVERHEAD_BYTES = 10;

/** The bytes `message` adds to a record batch, estimated from above (uncompressed). */
function messageBytes(message: DlqMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES + (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (const [name, value] of Object.entries(message.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      bytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name) +
        (typeof v === "string" ? Buffer.byteLength(v) : v.length);
    }
  }
  return bytes;
}

/**
 * The DLQ copy of one record: key as consumed, value as consumed or — when longer than
 * `maxValueBytes` — its first `maxValueBytes` bytes with headers `dlq.truncated: "true"` and
 * `dlq.original.bytes`, and the headers of {@linkcode dlqHeaders}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dlqMessage } from "./dlq.ts";
 * const record = { partition: 0, offset: "3", key: null, value: new Uint8Array(10),
 *   headers: {}, timestamp: "0" };
 * const m = dlqMessage({ kind: "dead-letter", record, reason: "oversized", detail: "big" },
 *   "orders", 0, 4);
 * assert.equal(m.value?.length, 4);
 * assert.equal(m.headers["dlq.truncated"], "true");
 * assert.equal(m.headers["dlq.original.bytes"], "10");
 * ```
 */
export function dlqMessage(
  outcome: DeadLetterOutcome,
  sourceTopic: string,
  failedAt: number,
  maxValueBytes: number = DLQ_MAX_VALUE_BYTES,
): DlqMessage {
  const { key, value } = outcome.record;
  const headers = dlqHeaders(outcome, sourceTopic, failedAt);
  let copy = value === null ? null : toBuffer(value);
  if (copy !== null && copy.length > maxValueBytes) {
    headers["dlq.truncated"] = "true";
    headers["dlq.original.bytes"] = String(copy.length);
    copy = copy.subarray(0, maxValueBytes);
  }
  return { key: key === null ? null : toBuffer(key), value: copy, headers };
}

/** Whether a kafkajs error (or one in its `cause` chain) is the broker's MESSAGE_TOO_LARGE. */
function isMessageTooLarge(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if ((e as { type?: unknown }).type === "MESSAGE_TOO_LARGE") return true;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}
