import assert from "node:assert/strict";
import { Encoder as E } from "./_kafkajs.ts";
import { installVarintEncoder } from "./_varint_encoder.ts";
import { Random } from "./_fetch_fixtures.ts";

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
