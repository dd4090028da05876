import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionTypes } from "kafkajs";
import { apiKeys, Encoder as E, type ProduceMessage, requests } from "./_kafkajs.ts";
import { installVarintEncoder, uninstallVarintEncoder } from "./_varint_encoder.ts";
import { Random, registerSnappy } from "./_fetch_fixtures.ts";

function bytes(encoder: { buffer: Uint8Array }): number[] {
  return [...encoder.buffer];
}

function samples(): number[] {
  const random = new Random(5);
  const values = [0, 1, -1, 63, 64, -64, -65, 127, 128, 255, 256, 16383, 16384, 2 ** 21, 2 ** 28];
  for (const edge of [2 ** 29, 2 ** 30, 2 ** 31, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
    values.push(edge - 1, edge, edge + 1, -edge - 1, -edge, -edge + 1);
  }
  for (let i = 0; i < 5000; i++) {
    const scale = 2 ** random.int(0, 52);
    values.push(Math.floor((random.next() * 2 - 1) * scale));
  }
  return values;
}

Deno.test("installVarintEncoder() writes the same bytes as kafkajs for varints and varlongs", () => {
  const originals = installVarintEncoder();
  assert.equal(installVarintEncoder(), originals, "installs once");
  for (const value of samples()) {
    const int32 = value | 0;
    // writeVarInt (zig-zag int32) goes through writeUVarInt.
    const fast = new E().writeVarInt(int32);
    const slow = new E();
    originals.writeUVarInt.call(slow, E.encodeZigZag(int32));
    assert.deepEqual(bytes(fast), bytes(slow), `varint ${int32}`);
    // writeUVarInt with raw values, including ones with the top bit set.
    const u = new E().writeUVarInt(value >>> 0);
    const uSlow = new E();
    originals.writeUVarInt.call(uSlow, value >>> 0);
    assert.deepEqual(bytes(u), bytes(uSlow), `uvarint ${value >>> 0}`);
    // Varlongs: fast path for small integers, kafkajs' Long path otherwise.
    const l = new E().writeVarLong(value);
    const lSlow = new E();
    originals.writeVarLong.call(lSlow, value);
    assert.deepEqual(bytes(l), bytes(lSlow), `varlong ${value}`);
    assert.equal(E.sizeOfVarLong(value), originals.sizeOfVarLong(value), `size ${value}`);
    assert.equal(E.sizeOfVarLong(value), bytes(l).length);
  }
});

Deno.test("installVarintEncoder() keeps kafkajs' handling of non-number varlongs", () => {
  const originals = installVarintEncoder();
  for (const value of ["12345", 2n ** 40n]) {
    const l = new E().writeVarLong(value);
    const lSlow = new E();
    originals.writeVarLong.call(lSlow, value);
    assert.deepEqual(bytes(l), bytes(lSlow));
  }
});

Deno.test("installVarintEncoder() grows the encoder's buffer when needed", () => {
  installVarintEncoder();
  const e = new E(1);
  for (let i = 0; i < 1000; i++) e.writeVarInt(-(2 ** 31));
  assert.equal(e.buffer.length, 5000);
});

/** A Produce v7 request as kafkajs' broker encodes it (`lookup` picks the version). */
async function produceRequest(options: Record<string, unknown>): Promise<Buffer> {
  const lookup = requests.lookup({ [apiKeys.Produce]: { minVersion: 0, maxVersion: 7 } });
  const produce = lookup(apiKeys.Produce, requests.requests.Produce)(options);
  return Buffer.from((await produce.request.encode()).buffer);
}

/** The request with the patch, then with kafkajs' own functions (the patch is put back). */
async function bothWays(options: Record<string, unknown>): Promise<[Buffer, Buffer]> {
  installVarintEncoder();
  const patched = await produceRequest(options);
  uninstallVarintEncoder();
  try {
    return [patched, await produceRequest(options)];
  } finally {
    installVarintEncoder();
  }
}

function messages(random: Random, n: number): ProduceMessage[] {
  const base = 1_790_000_000_000;
  return Array.from({ length: n }, (_, i) => ({
    key: random.next() < 0.1 ? null : Buffer.from(`order-${random.int(0, 1e6)}`),
    value: random.next() < 0.05
      ? null
      : Buffer.from("v".repeat(random.pick([0, 1, 127, 128, 20_000]))),
    // Deltas from the first timestamp: small, negative-free (kafkajs sorts), beyond 2^29 and 2^31.
    timestamp: base + random.pick([0, i, 70_000, 2 ** 29 + i, 2 ** 31 + 5, 2 ** 40]),
    headers: { produced_at: Buffer.from(String(base + i)), schema: Buffer.from("order.v1") },
  }));
}

Deno.test("installVarintEncoder() encodes gzip and snappy Produce requests byte for byte like kafkajs", async () => {
  registerSnappy();
  const random = new Random(17);
  for (
    const compression of [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy]
  ) {
    const [patched, original] = await bothWays({
      acks: -1,
      timeout: 30_000,
      compression,
      topicData: [{
        topic: "orders",
        partitions: [0, 1, 2].map((partition) => ({
          partition,
          firstSequence: 0,
          messages: messages(random, 300),
        })),
      }],
    });
    assert.ok(patched.length > 1000, `codec ${compression}: ${patched.length} bytes`);
    assert.ok(patched.equals(original), `codec ${compression}: bytes differ from kafkajs'`);
  }
});

Deno.test("installVarintEncoder() encodes transactional Produce requests byte for byte like kafkajs", async () => {
  registerSnappy();
  const random = new Random(23);
  for (const compression of [CompressionTypes.None, CompressionTypes.Snappy]) {
    const [patched, original] = await bothWays({
      acks: -1,
      timeout: 30_000,
      compression,
      transactionalId: "orderflow-tx",
      producerId: 2n ** 40n + 7n,
      producerEpoch: 3,
      topicData: [{
        topic: "orders",
        partitions: [{ partition: 4, firstSequence: 2 ** 30, messages: messages(random, 100) }],
      }],
    });
    assert.ok(patched.equals(original), `codec ${compression}: bytes differ from kafkajs'`);
  }
});
