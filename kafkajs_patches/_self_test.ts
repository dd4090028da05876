/**
 * Install-time checks that a patch is live: kafkajs reaches the patched code on the path its
 * broker uses, and the patched code gives kafkajs' own answer on a small sample (three records, a
 * dozen varints). Synchronous, so the install can run from a constructor.
 * Each check returns why the patch must not stay installed, or undefined when it may.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { isDeepStrictEqual } from "node:util";
import {
  apiKeys,
  type BatchContext,
  type DecodedMessage,
  Decoder,
  decodeRecord,
  Encoder,
  encodeRecord,
  type KafkaEncoder,
  requests,
} from "./_kafkajs.ts";
import { decodeFetchV11, decodeRecords } from "./_fetch_v11_decoder.ts";
import type { Originals } from "./_varint_encoder.ts";

/** Records kafkajs' record encoder writes: varints and varlongs of several sizes and signs. */
const SAMPLE = [
  { offsetDelta: 0, timestampDelta: 0, key: "k-1", value: '{"n":1}', headers: { a: "1" } },
  { offsetDelta: 1, timestampDelta: -70_000, key: null, value: "", headers: {} },
  {
    offsetDelta: 300,
    timestampDelta: 2 ** 40,
    key: "k-3",
    value: "x".repeat(200),
    headers: { produced_at: "1790000000000", schema: "order.v1" },
  },
] as const;

function sampleRecords(): KafkaEncoder[] {
  return SAMPLE.map((r) =>
    encodeRecord({
      offsetDelta: r.offsetDelta,
      timestampDelta: r.timestampDelta,
      key: r.key === null ? null : Buffer.from(r.key),
      value: Buffer.from(r.value),
      headers: Object.fromEntries(
        Object.entries(r.headers).map(([k, v]) => [k, Buffer.from(v)]),
      ),
    })
  );
}

/** The decode kafkajs' broker would call for a Fetch v11 response. */
function brokerFetchDecode(): unknown {
  const lookup = requests.lookup({ [apiKeys.Fetch]: { minVersion: 0, maxVersion: 11 } });
  const fetch = lookup(apiKeys.Fetch, requests.requests.Fetch);
  return fetch({ maxWaitTime: 0, minBytes: 1, maxBytes: 1, topics: [] }).response.decode;
}

/** Checks the `fetch_v11_decoder` patch; undefined when it is live and agrees with kafkajs. */
export function checkFetchV11Decoder(): string | undefined {
  if (brokerFetchDecode() !== decodeFetchV11) {
    return "kafkajs' broker does not reach the patched Fetch v11 decode";
  }
  const records = Buffer.concat(sampleRecords().map((e) => e.buffer));
  const context: BatchContext = {
    firstOffset: "1000",
    firstTimestamp: "1790000000000",
    partitionLeaderEpoch: 0,
    inTransaction: false,
    isControlBatch: false,
    lastOffsetDelta: 300,
    producerId: "-1",
    producerEpoch: 0,
    firstSequence: 0,
    maxTimestamp: "1790000000000",
    timestampType: 0,
    magicByte: 2,
  };
  const fast: DecodedMessage[] = [];
  decodeRecords(records, 0, SAMPLE.length, context, fast);
  const expected: DecodedMessage[] = [];
  const decoder = new Decoder(records);
  for (let i = 0; i < SAMPLE.length; i++) {
    const slice = decoder.readBytes(decoder.readVarInt());
    expected.push(decodeRecord(new Decoder(slice), context));
  }
  if (!isDeepStrictEqual(fast, expected)) {
    return "decoded records differ from kafkajs' record decoder";
  }
  return undefined;
}

/** Checks the `varint_encoder` patch; undefined when it is live and writes kafkajs' bytes. */
export function checkVarintEncoder(originals: Originals): string | undefined {
  const proto = Encoder.prototype;
  if (proto.writeUVarInt === originals.writeUVarInt) {
    return "kafkajs' Encoder prototype does not carry the patched varint writer";
  }
  const [encoded] = sampleRecords();
  if (Object.getPrototypeOf(encoded) !== proto) {
    return "kafkajs' record encoder uses another Encoder class than the patched one";
  }
  for (const value of [0, 1, -1, 63, -64, 64, 8191, -(2 ** 28), 2 ** 29, 2 ** 31 - 1, 2 ** 40]) {
    const fast = new Encoder().writeVarLong(value);
    const slow = originals.writeVarLong.call(new Encoder(), value);
    if (!Buffer.from(fast.buffer).equals(Buffer.from(slow.buffer))) {
      return `varlong ${value}: bytes differ from kafkajs'`;
    }
    if (Encoder.sizeOfVarLong(value) !== originals.sizeOfVarLong(value)) {
      return `varlong ${value}: size differs from kafkajs'`;
    }
    const u = value >>> 0;
    const fastU = new Encoder().writeUVarInt(u);
    const slowU = originals.writeUVarInt.call(new Encoder(), u);
    if (!Buffer.from(fastU.buffer).equals(Buffer.from(slowU.buffer))) {
      return `uvarint ${u}: bytes differ from kafkajs'`;
    }
  }
  return undefined;
}
