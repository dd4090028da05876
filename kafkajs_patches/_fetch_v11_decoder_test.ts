import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionTypes } from "kafkajs";
import { decodeFetchV11, installFetchV11Decoder } from "./_fetch_v11_decoder.ts";
import type { DecodedMessage, FetchDecode } from "./_kafkajs.ts";
import {
  batch,
  CONTROL,
  fetchResponse,
  LOG_APPEND_TIME,
  Random,
  randomRecord,
  registerSnappy,
  TRANSACTIONAL,
  varLong,
} from "./_fetch_fixtures.ts";

interface Decoded {
  readonly responses: readonly {
    readonly partitions: readonly {
      readonly abortedTransactions: readonly { producerId: string; firstOffset: string }[];
      readonly messages: readonly DecodedMessage[];
    }[];
  }[];
}

/** Decodes `raw` with kafkajs and with the patch; asserts the same result (or the same error). */
async function same(original: FetchDecode, raw: Buffer): Promise<Decoded | undefined> {
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
  return actual as Decoded;
}

function setUp(): FetchDecode {
  registerSnappy();
  return installFetchV11Decoder();
}

const COMPRESSIONS = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy];

Deno.test("installFetchV11Decoder() decodes fetch responses exactly like kafkajs", async () => {
  const original = setUp();
  assert.equal(installFetchV11Decoder(), original, "installs once");
  const random = new Random(11);
  let messages = 0;
  for (let round = 0; round < 60; round++) {
    const partitions: { partition: number; messages: Buffer }[] = [];
    for (let p = 0; p < 3; p++) {
      const parts: Buffer[] = [];
      let next = random.pick([0n, 123_456n, 2n ** 53n - 5n, 2n ** 60n]);
      for (let b = 0; b < random.int(0, 3); b++) {
        const n = random.int(1, 40);
        const records = Array.from({ length: n }, (_, i) => randomRecord(random, i));
        parts.push(
          await batch(records, {
            compression: random.pick(COMPRESSIONS),
            firstOffset: next,
            firstTimestamp: random.pick([1_790_000_000_000, -1, 0, 2 ** 53 - 10]),
            flags: random.pick([0, 0, LOG_APPEND_TIME, TRANSACTIONAL, CONTROL]),
          }),
        );
        next += BigInt(n);
      }
      let all = Buffer.concat(parts);
      if (random.next() < 0.2 && all.length > 60) {
        all = all.subarray(0, all.length - random.int(1, 30)); // partial tail
      }
      partitions.push({ partition: p, messages: all });
    }
    const decoded = await same(original, fetchResponse(partitions));
    for (const p of decoded?.responses[0]?.partitions ?? []) messages += p.messages.length;
  }
  assert.ok(messages > 1000, `decoded ${messages} messages`);
});

Deno.test("installFetchV11Decoder() matches kafkajs on malformed records and odd sizes", async () => {
  const original = setUp();
  const random = new Random(5);
  const good = randomRecord(random, 0).body!;
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
      const messages = await batch([{ bytes }, randomRecord(random, 1)], {
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
