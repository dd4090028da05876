/**
 * Fetch v11 responses for the decoder tests, built with kafkajs' own record-batch encoder: random
 * records, compressed batches, transactional and control batches, aborted transactions and
 * batches cut short as a broker cuts them at the fetch's maxBytes.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import SnappyCodec from "kafkajs-snappy";
import { Encoder, RecordBatch } from "./_kafkajs.ts";

/** Registers kafkajs-snappy as the app does (clients/kafka.ts), so snappy batches decode. */
export function registerSnappy(): void {
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
}

/** A seeded pseudo-random source (the tests must repeat exactly). */
export class Random {
  #seed: number;
  constructor(seed: number) {
    this.#seed = seed;
  }
  next(): number {
    this.#seed = (this.#seed * 1103515245 + 12345) % 2 ** 31;
    return this.#seed / 2 ** 31;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}

/** Zig-zag varint / varlong bytes for any safe integer (kafkajs' encoding, in doubles). */
export function varLong(value: number): number[] {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function bytesField(value: Uint8Array | null): number[] {
  return value === null ? varLong(-1) : [...varLong(value.length), ...value];
}

const enc = new TextEncoder();
const HEADER_NAMES = [
  "produced_at",
  "schema",
  "schemb",
  "traces",
  "__proto__",
  "toString",
  "",
  "é-ü",
  "é-ö",
  "null",
  "1",
  "2",
];

/** One record's bytes. */
export interface RecordSpec {
  /** The record with its varint length. */
  readonly bytes: number[];
  /** The record without its length. */
  readonly body?: number[];
}

/** A record as a broker would write it, from raw fields. */
export function record(
  fields: {
    offsetDelta: number;
    timestampDelta?: number;
    key: Uint8Array | null;
    value: Uint8Array | null;
    headers?: readonly [string, Uint8Array | null][];
  },
): RecordSpec {
  const headers = fields.headers ?? [];
  const body = [
    0, // attributes (int8)
    ...varLong(fields.timestampDelta ?? 0),
    ...varLong(fields.offsetDelta),
    ...bytesField(fields.key),
    ...bytesField(fields.value),
    ...varLong(headers.length),
    ...headers.flatMap(([name, value]) => [...bytesField(enc.encode(name)), ...bytesField(value)]),
  ];
  return { bytes: [...varLong(body.length), ...body], body };
}

/** A random record: null/empty/short keys and values, odd header names, wide timestamps. */
export function randomRecord(random: Random, offsetDelta: number): RecordSpec {
  const key = random.pick([null, new Uint8Array(0), enc.encode(`k-${random.int(0, 99)}`)]);
  const value = random.pick([
    null,
    new Uint8Array(0),
    enc.encode(JSON.stringify({ n: random.int(0, 1e6) })),
  ]);
  const headers: number[] = [];
  const count = random.pick([-1, 0, 1, 2, 3, 5]);
  for (let h = 0; h < count; h++) {
    const name = random.next() < 0.05 ? null : enc.encode(random.pick(HEADER_NAMES));
    headers.push(...bytesField(name));
    headers.push(
      ...bytesField(
        random.pick([null, enc.encode(String(random.int(0, 2e12))), new Uint8Array(0)]),
      ),
    );
  }
  const body = [
    random.pick([0, 0, 0, 0x7f, 0xff]), // attributes (int8)
    ...varLong(
      random.pick([0, 1, -1, 63, -64, 64, random.int(-1e6, 1e6), 2 ** 30, -(2 ** 40), 2 ** 52 - 1]),
    ),
    ...varLong(offsetDelta),
    ...bytesField(key),
    ...bytesField(value),
    ...varLong(count),
    ...headers,
  ];
  return { bytes: [...varLong(body.length), ...body], body };
}

/** A control record: key (version, type: 0 abort, 1 commit), value (version, coordinator epoch). */
export function controlRecord(offsetDelta: number, type: "abort" | "commit"): RecordSpec {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type === "abort" ? 0 : 1, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(7, 2);
  return record({ offsetDelta, key, value });
}

/** Record-batch attribute flags kafkajs' encoder does not set itself. */
export const LOG_APPEND_TIME = 0x08;
export const TRANSACTIONAL = 0x10;
export const CONTROL = 0x20;

/** One record batch (offset, length, header, records) encoded by kafkajs' `RecordBatch`. */
export async function batch(
  records: readonly RecordSpec[],
  options: {
    compression: number;
    firstOffset: bigint;
    firstTimestamp: number;
    flags?: number;
    producerId?: bigint;
    producerEpoch?: number;
  },
): Promise<Buffer> {
  const encoders = records.map((r) => new Encoder().writeBuffer(Buffer.from(r.bytes)));
  const encoded = await RecordBatch({
    compression: options.compression,
    firstOffset: options.firstOffset,
    firstTimestamp: options.firstTimestamp,
    maxTimestamp: options.firstTimestamp + 5000,
    lastOffsetDelta: records.length - 1,
    records: encoders,
    ...(options.producerId === undefined ? {} : { producerId: options.producerId }),
    ...(options.producerEpoch === undefined ? {} : { producerEpoch: options.producerEpoch }),
  });
  const buf = Buffer.from(encoded.buffer);
  // Attributes (int16) sit after firstOffset(8) length(4) leaderEpoch(4) magic(1) crc(4); the
  // CRC is not checked by kafkajs, so flags can be set afterwards.
  if (options.flags !== undefined) buf.writeInt16BE(buf.readInt16BE(21) | options.flags, 21);
  return buf;
}

/** An aborted transaction as a Fetch response lists it. */
export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/** A Fetch v11 response for topic "orders" (one aborted transaction per partition by default). */
export function fetchResponse(
  partitions: readonly {
    partition: number;
    messages: Buffer;
    abortedTransactions?: readonly AbortedTransaction[];
  }[],
): Buffer {
  const e = new Encoder()
    .writeInt32(0) // throttle
    .writeInt16(0) // error
    .writeInt32(7) // session
    .writeInt32(1) // one topic
    .writeString("orders")
    .writeInt32(partitions.length);
  for (const p of partitions) {
    e.writeInt32(p.partition).writeInt16(0).writeInt64(1000).writeInt64(1000).writeInt64(0);
    const aborted = p.abortedTransactions ?? [{ producerId: 42n, firstOffset: 3n }];
    e.writeInt32(aborted.length);
    for (const a of aborted) e.writeInt64(a.producerId).writeInt64(a.firstOffset);
    e.writeInt32(-1); // preferred read replica
    e.writeInt32(p.messages.length).writeBuffer(p.messages);
  }
  return Buffer.from(e.buffer);
}
