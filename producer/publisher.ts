/**
 * Delivery to Kafka: a kafkajs producer with acks=all, retries with backoff, snappy compression,
 * key = order ID, headers `produced_at` and `schema` (plus the record's own, e.g. edge scores),
 * and a delivery report for every record.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  CompressionTypes,
  type Kafka,
  type Message,
  type PartitionerArgs,
  Partitioners,
  type Producer,
  type RecordMetadata,
} from "kafkajs";
import { ORDER_SCHEMA } from "../core/order.ts";
import { installKafkajsPatches } from "../kafkajs_patches/mod.ts";
import { KeyPartitioner } from "./murmur2.ts";
import type { OutgoingRecord } from "./sources.ts";

const SCHEMA_HEADER = Buffer.from(ORDER_SCHEMA);

/** A record the broker acknowledged (all in-sync replicas have it). */
export interface AckedReport {
  readonly status: "acked";
  readonly record: OutgoingRecord;
  readonly partition: number;
  /** Offset of this record in its partition (decimal string: Kafka offsets are 64-bit). */
  readonly offset: string;
  /** From handing the batch to kafkajs to the broker's acknowledgement, in ms. */
  readonly latencyMs: number;
  /** The topic, when not the run's topic (an order held for review by `--hold-above`). */
  readonly topic?: string;
}

/** A record that was not acknowledged after the retries (it may or may not be in the log). */
export interface FailedReport {
  readonly status: "failed";
  readonly record: OutgoingRecord;
  readonly error: Error;
  readonly latencyMs: number;
  /** The topic, when not the run's topic (an order held for review by `--hold-above`). */
  readonly topic?: string;
}

/** How one record ended. */
export type DeliveryReport = AckedReport | FailedReport;

/** Sends batches of records and reports on every record; never rejects for delivery failures. */
export interface Publisher {
  publish(records: readonly OutgoingRecord[]): Promise<readonly DeliveryReport[]>;
  close(): Promise<void>;
}

/** The send or the connection did not finish within the configured time. */
export class DeliveryTimeoutError extends Error {
  override name = "DeliveryTimeoutError";
}

/** The topic to publish to does not exist (the producer never auto-creates topics). */
export class TopicNotFoundError extends Error {
  override name = "TopicNotFoundError";
  /** The missing topic. */
  readonly topic: string;
  constructor(topic: string, options?: ErrorOptions) {
    super(`Cannot publish to topic "${topic}": the topic does not exist`, options);
    this.topic = topic;
  }
}

/** Options of {@linkcode KafkaPublisher.connect}. */
export interface KafkaPublisherOptions {
  /** A kafkajs client (from `clients/kafka.ts` `createKafka`). */
  readonly kafka: Kafka;
  /** Topic to publish to; must exist. */
  readonly topic: string;
  /** kafkajs idempotent producer (then at most one request in flight per broker). */
  readonly idempotent: boolean;
  /** Retries per send after the first attempt (ignored when idempotent: kafkajs retries on). */
  readonly retries: number;
  /** Bound on connecting, and on each send including its retries, in ms. */
  readonly deliveryTimeoutMs: number;
  /** Compression codec (default snappy). */
  readonly compression?: CompressionTypes;
  /** Clock for ack latency (default `performance.now`). */
  readonly now?: () => number;
}

/**
 * A kafkajs producer that reports per record. Partitions are chosen by kafkajs' default
 * (Java-compatible murmur2) partitioner, wrapped so the chosen partition of each message is
 * known; kafkajs returns one base offset per partition, and the offset of a record is its base
 * offset plus its index among the batch's records for that partition.
 */
export class KafkaPublisher implements Publisher {
  readonly #producer: Producer;
  readonly #options: KafkaPublisherOptions;
  readonly #partitionOf: WeakMap<Message, number>;
  readonly #now: () => number;
  #closed = false;

  private constructor(
    producer: Producer,
    options: KafkaPublisherOptions,
    partitionOf: WeakMap<Message, number>,
  ) {
    this.#producer = producer;
    this.#options = options;
    this.#partitionOf = partitionOf;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Connects, checks that the topic exists, and returns a ready publisher. Fails within
   * `deliveryTimeoutMs` (plus one connection timeout) with kafkajs' error as `cause`.
   */
  static async connect(options: KafkaPublisherOptions): Promise<KafkaPublisher> {
    installKafkajsPatches(); // idempotent; main.ts installs and logs it at start-up
    const partitionOf = new WeakMap<Message, number>();
    const producer = options.kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: options.idempotent,
      ...(options.idempotent ? { maxInFlightRequests: 1 } : {}),
      retry: options.idempotent
        ? { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 }
        : { retries: options.retries, initialRetryTime: 100, maxRetryTime: 5_000 },
      createPartitioner: () => {
        const inner = Partitioners.DefaultPartitioner();
        const keyed = new KeyPartitioner();
        return (args: PartitionerArgs) => {
          // Sticky: a retry must not move a keyless record to another partition.
          const known = partitionOf.get(args.message);
          if (known !== undefined) return known;
          const key = args.message.key;
          // Same result as kafkajs' default (Java-compatible) partitioner for string keys,
          // without its Long arithmetic; keyless records take kafkajs' round robin.
          const partition = typeof key === "string"
            ? keyed.partition(key, args.partitionMetadata.length)
            : inner(args);
          partitionOf.set(args.message, partition);
          return partition;
        };
      },
    });
    const connecting = (async () => {
      await producer.connect();
      await checkTopic(options.kafka, options.topic);
    })();
    try {
      await withTimeout(
        connecting,
        options.deliveryTimeoutMs,
        () =>
          new DeliveryTimeoutError(
            `Cannot connect to Kafka: timed out after ${options.deliveryTimeoutMs} ms (--timeout)`,
          ),
      );
    } catch (error) {
      connecting.catch(() => {}); // already reported through the timeout error
      await producer.disconnect().catch(() => {});
      throw error;
    }
    return new KafkaPublisher(producer, options, partitionOf);
  }

  /** Sends one batch; resolves with one report per record, in input order. */
  async publish(records: readonly OutgoingRecord[]): Promise<readonly DeliveryReport[]> {
    if (records.length === 0) return [];
    // One headers object per batch: kafkajs only reads it, and Buffers skip its UTF-8 sizing.
    const headers = {
      produced_at: Buffer.from(String(Date.now())),
      schema: SCHEMA_HEADER,
    };
    const messages: Message[] = records.map((r) => ({
      key: r.key,
      value: typeof r.value === "string"
        ? r.value
        : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
      headers: r.headers === undefined ? headers : { ...headers, ...r.headers },
    }));
    const started = this.#now();
    let metadata: RecordMetadata[];
    try {
      const sending = this.#producer.send({
        topic: this.#options.topic,
        messages,
        acks: -1,
        timeout: Math.min(30_000, this.#options.deliveryTimeoutMs),
        compression: this.#options.compression ?? CompressionTypes.Snappy,
      });
      metadata = await withTimeout(
        sending,
        this.#options.deliveryTimeoutMs,
        () =>
          new DeliveryTimeoutError(
            `Cannot deliver batch of ${records.length}: timed out after ${this.#options.deliveryTimeoutMs} ms without acknowledgement (--timeout)`,
          ),
        () => sending.catch(() => {}),
      );
    } catch (error) {
      const latencyMs = this.#now() - started;
      const err = error instanceof Error ? error : new TypeError(String(error));
      return records.map((record) => ({ status: "failed", record, error: err, latencyMs }));
    }
    const latencyMs = this.#now() - started;
    const base = new Map<number, string>();
    for (const m of metadata) {
      if (m.topicName === this.#options.topic && m.baseOffset !== undefined) {
        base.set(m.partition, m.baseOffset);
      }
    }
    const next = new Map<number, number>();
    return records.map((record, i): DeliveryReport => {
      const message = messages[i] as Message;
      const partition = this.#partitionOf.get(message);
      const baseOffset = partition === undefined ? undefined : base.get(partition);
      if (partition === undefined || baseOffset === undefined) {
        return {
          status: "failed",
          record,
          latencyMs,
          error: new RangeError(
            `Cannot confirm delivery: the broker's answer has no offset for partition ${partition}`,
          ),
        };
      }
      const index = next.get(partition) ?? 0;
      next.set(partition, index + 1);
      return {
        status: "acked",
        record,
        partition,
        offset: addOffset(baseOffset, index),
        latencyMs,
      };
    });
  }

  /** Disconnects (waits for nothing: call after the batcher has flushed). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#producer.disconnect();
  }
}

async function checkTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) throw new TopicNotFoundError(topic);
  } finally {
    await admin.disconnect();
  }
}

/** `base + index` for a decimal 64-bit offset string. */
export function addOffset(base: string, index: number): string {
  const n = Number(base);
  if (Number.isSafeInteger(n) && Number.isSafeInteger(n + index)) return String(n + index);
  return (BigInt(base) + BigInt(index)).toString();
}

/** Race `promise` against a timer; the timer is always cleared. */
function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  makeError: () => Error,
  onTimeout?: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(makeError());
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
