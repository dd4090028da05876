import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import Encoder from "kafkajs/src/protocol/encoder.js";
import recordBatchV0 from "kafkajs/src/protocol/recordBatch/v0/index.js";
import { CompressionTypes } from "kafkajs";
import { registerSnappyCodec } from "../config/kafka.ts";
import { decodeFetchV11, installFastFetchDecoder } from "./_fast_fetch_decoder.ts";

// deno-lint-ignore no-explicit-any
const E = Encoder as any;
// deno-lint-ignore no-explicit-any
const { RecordBatch } = recordBatchV0 as any;

let seed = 11;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}
function int(lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}
function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)]!;
}

/** Zig-zag varint / varlong bytes for any safe integer (kafkajs' encoding, in doubles). */
function varLong(value: number): number[] {
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

interface RecordSpec {
  /** The record with its varint length. */
  readonly bytes: number[];
  /** The record without its length. */
  readonly body?: number[];
}

function randomRecord(offsetDelta: number): RecordSpec {
  const key = pick([null, new Uint8Array(0), enc.encode(`k-${int(0, 99)}`)]);
  const value = pick([null, new Uint8Array(0), enc.encode(JSON.stringify({ n: int(0, 1e6) }))]);
  const headers: number[] = [];
  const count = pick([-1, 0, 1, 2, 3, 5]);
  for (let h = 0; h < count; h++) {
    const name = random() < 0.05 ? null : enc.encode(pick(HEADER_NAMES));
    headers.push(...bytesField(name));
    headers.push(...bytesField(pick([null, enc.encode(String(int(0, 2e12))), new Uint8Array(0)])));
  }
  const body = [
    pick([0, 0, 0, 0x7f, 0xff]), // attributes (int8)
    ...varLong(pick([0, 1, -1, 63, -64, 64, int(-1e6, 1e6), 2 ** 30, -(2 ** 40), 2 ** 52 - 1])),
    ...varLong(offsetDelta),
    ...bytesField(key),
    ...bytesField(value),
    ...varLong(count),
    ...headers,
  ];
  return { bytes: [...varLong(body.length), ...body], body };
}

async function batch(
  records: readonly RecordSpec[],
  options: { compression: number; firstOffset: bigint; firstTimestamp: number; flags?: number },
): Promise<Buffer> {
  const encoders = records.map((r) => new E().writeBuffer(Buffer.from(r.bytes)));
  const encoded = await RecordBatch({
    compression: options.compression,
    firstOffset: options.firstOffset,
    firstTimestamp: options.firstTimestamp,
    maxTimestamp: options.firstTimestamp + 5000,
    lastOffsetDelta: records.length - 1,
    records: encoders,
  });
  const buf = Buffer.from(encoded.buffer);
  // Attributes (int16) sit after firstOffset(8) length(4) leaderEpoch(4) magic(1) crc(4); the
  // CRC is not checked by kafkajs, so flags can be set afterwards.
  if (options.flags !== undefined) buf.writeInt16BE(buf.readInt16BE(21) | options.flags, 21);
  return buf;
}

function fetchResponse(partitions: readonly { partition: number; messages: Buffer }[]): Buffer {
  const e = new E()
    .writeInt32(0) // throttle
    .writeInt16(0) // error
    .writeInt32(7) // session
    .writeInt32(1) // one topic
    .writeString("orders")
    .writeInt32(partitions.length);
  for (const p of partitions) {
    e.writeInt32(p.partition).writeInt16(0).writeInt64(1000).writeInt64(1000).writeInt64(0);
    e.writeInt32(1).writeInt64(42).writeInt64(3); // one aborted transaction
    e.writeInt32(-1); // preferred read replica
    e.writeInt32(p.messages.length).writeBuffer(p.messages);
  }
  return Buffer.from(e.buffer);
}

async function same(original: (raw: Buffer) => Promise<unknown>, raw: Buffer): Promise<unknown> {
  let expected: unknown;
  let expectedError: Error | undefined;
  try {
    expected = await original(raw);
  } catch (error) {
    expectedError = error as Error;
  }
  if (expectedError !== undefined) {
    await assert.rejects(() => decodeFetchV11(raw), (error: Error) => {
      assert.equal(error.name, expectedError!.name);
      assert.equal(error.message, expectedError!.message);
      return true;
    });
    return undefined;
  }
  const actual = await decodeFetchV11(raw);
  assert.deepStrictEqual(actual, expected);
  return actual;
}

Deno.test("installFastFetchDecoder() decodes fetch responses exactly like kafkajs", async () => {
  registerSnappyCodec();
  const original = installFastFetchDecoder();
  assert.equal(installFastFetchDecoder(), original, "installs once");
  const compressions = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy];
  let messages = 0;
  for (let round = 0; round < 60; round++) {
    const partitions: { partition: number; messages: Buffer }[] = [];
    for (let p = 0; p < 3; p++) {
      const parts: Buffer[] = [];
      let next = pick([0n, 123_456n, 2n ** 53n - 5n, 2n ** 60n]);
      for (let b = 0; b < int(0, 3); b++) {
        const n = int(1, 40);
        const records = Array.from({ length: n }, (_, i) => randomRecord(i));
        parts.push(
          await batch(records, {
            compression: pick(compressions),
            firstOffset: next,
            firstTimestamp: pick([1_790_000_000_000, -1, 0, 2 ** 53 - 10]),
            flags: pick([0, 0, 0x08, 0x10, 0x20]), // LOG_APPEND_TIME, transactional, control
          }),
        );
        next += BigInt(n);
      }
      let all = Buffer.concat(parts);
      if (random() < 0.2 && all.length > 60) all = all.subarray(0, all.length - int(1, 30)); // partial tail
      partitions.push({ partition: p, messages: all });
    }
    const decoded = await same(original, fetchResponse(partitions)) as {
      responses: { partitions: { messages: unknown[] }[] }[];
    } | undefined;
    for (const p of decoded?.responses[0]?.partitions ?? []) messages += p.messages.length;
  }
  assert.ok(messages > 1000, `decoded ${messages} messages`);
});

Deno.test("installFastFetchDecoder() matches kafkajs on malformed records and odd sizes", async () => {
  registerSnappyCodec();
  const original = installFastFetchDecoder();
  const good = randomRecord(0).body!;
  const cases: number[][] = [
    [...varLong(good.length + 3), ...good], // claims more bytes than the batch holds
    [...varLong(good.length - 1), ...good], // claims fewer
    [...varLong(3), 0, 0, 0], // too short for a key
    [...varLong(12), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 1], // long varlong
    [...varLong(6), 0, 0, 0, ...varLong(-3), 0, 0], // negative key length
    [...varLong(8), 0, 0, 0, ...varLong(-1), ...varLong(-1), ...varLong(1), 1, 0x61], // cut header
    [...varLong(7), 0, 0, 0x80, 0x80, 0x80, 0x80, 0x01], // 5-byte offset delta
    [...varLong(8), 0, 0, 0, 1, 1, 0, 9, 9], // trailing bytes in the record
  ];
  for (const bytes of cases) {
    for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
      const messages = await batch([{ bytes }, randomRecord(1)], {
        compression,
        firstOffset: 10n,
        firstTimestamp: 1_790_000_000_000,
      });
      await same(original, fetchResponse([{ partition: 0, messages }]));
    }
  }
  // Sizes around the magic byte and message sets (legacy): kafkajs' own path.
  for (const size of [1, 10, 16, 17, 48]) {
    await same(original, fetchResponse([{ partition: 0, messages: Buffer.alloc(size, 1) }]));
  }
});
