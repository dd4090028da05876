/**
 * The `varint_encoder` patch: kafkajs 2.2.4's `Encoder.prototype.writeUVarInt` rewritten to write
 * straight into the encoder's buffer, and `writeVarLong` / `Encoder.sizeOfVarLong` with 32-bit
 * math for small integers. kafkajs builds a `Buffer` per varint and a `Long` per timestamp delta;
 * under Deno's `node:buffer` that dominates the producer's CPU (figures: the producer bench
 * notes, "What was tuned").
 *
 * Rule: the bytes are identical to kafkajs' for every input (tested in
 * `_varint_encoder_test.ts`); values outside the small-integer range, and non-numbers, go to
 * kafkajs' own code.
 *
 * Install it through `installKafkajsPatches()` (mod.ts), never directly: that checks the kafkajs
 * version first and reports whether the patch is live.
 *
 * @module
 */

import { Encoder, type KafkaEncoder } from "./_kafkajs.ts";

/** Marks kafkajs' Encoder prototype as patched; the value is kafkajs' own functions. */
const INSTALLED = Symbol.for("orderflow.kafkajsPatches.varintEncoder");
/** Small enough that zig-zag fits in 31 bits and 32-bit shifts are exact. */
const SMALL = 2 ** 29;

type PatchedPrototype = KafkaEncoder & { [INSTALLED]?: Originals };

/** kafkajs' own implementations, kept for the fallback, the self-test and the tests. */
export interface Originals {
  readonly writeUVarInt: (this: KafkaEncoder, value: number) => KafkaEncoder;
  readonly writeVarLong: (this: KafkaEncoder, value: unknown) => KafkaEncoder;
  readonly sizeOfVarLong: (value: unknown) => number;
}

function isSmallInt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= -SMALL && value < SMALL;
}

/** Installs the fast paths (once per process); returns kafkajs' original functions. */
export function installVarintEncoder(): Originals {
  const E = Encoder;
  const proto: PatchedPrototype = E.prototype;
  const done = proto[INSTALLED];
  if (done !== undefined) return done;
  const originals: Originals = Object.freeze({
    writeUVarInt: proto.writeUVarInt,
    writeVarLong: proto.writeVarLong,
    sizeOfVarLong: E.sizeOfVarLong.bind(E),
  });
  proto.writeUVarInt = function (this: KafkaEncoder, value: number) {
    this.ensureAvailable(5);
    const buf = this.buf;
    let offset = this.offset;
    let v = value;
    while ((v & 0xffffff80) !== 0) {
      buf[offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[offset++] = v & 0x7f;
    this.offset = offset;
    return this;
  };
  proto.writeVarLong = function (this: KafkaEncoder, value: unknown) {
    if (!isSmallInt(value)) return originals.writeVarLong.call(this, value);
    return this.writeUVarInt(((value << 1) ^ (value >> 31)) >>> 0);
  };
  E.sizeOfVarLong = (value: unknown) => {
    if (!isSmallInt(value)) return originals.sizeOfVarLong(value);
    let v = ((value << 1) ^ (value >> 31)) >>> 0;
    let bytes = 1;
    while ((v & 0xffffff80) !== 0) {
      bytes++;
      v >>>= 7;
    }
    return bytes;
  };
  Object.defineProperty(proto, INSTALLED, { value: originals, configurable: true });
  return originals;
}

/** Puts kafkajs' own functions back (a failed self-test); a no-op when not installed. */
export function uninstallVarintEncoder(): void {
  const proto: PatchedPrototype = Encoder.prototype;
  const originals = proto[INSTALLED];
  if (originals === undefined) return;
  proto.writeUVarInt = originals.writeUVarInt;
  proto.writeVarLong = originals.writeVarLong;
  Encoder.sizeOfVarLong = originals.sizeOfVarLong;
  delete proto[INSTALLED];
}

/** kafkajs' own functions while the patch is installed, else undefined. */
export function varintEncoderOriginals(): Originals | undefined {
  return (Encoder.prototype as PatchedPrototype)[INSTALLED];
}
