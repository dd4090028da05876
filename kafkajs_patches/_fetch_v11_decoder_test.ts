import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionTypes } from "kafkajs";
import { decodeFetchV11, installFetchV11Decoder } from "./_fetch_v11_decoder.ts";
import { type DecodedMessage, type FetchDecode, filterAbortedMessages } from "./_kafkajs.ts";
import {
  batch,
  CONTROL,
  controlRecord,
  fetchResponse,
  LOG_APPEND_TIME,
  Random,
  randomRecord,
  record,
  type RecordSpec,
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

function messagesOf(decoded: Decoded | undefined, partition = 0): readonly DecodedMessage[] {
  const p = decoded?.responses[0]?.partitions[partition];
  assert.ok(p !== undefined, "decoded the partition");
  return p.messages;
}

const enc = new TextEncoder();
const COMPRESSIONS = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy];

/** `n` records with keys, values and the app's two headers. */
function orders(n: number, from = 0): RecordSpec[] {
  return Array.from({ length: n }, (_, i) =>
    record({
      offsetDelta: i,
      timestampDelta: i * 3,
      key: enc.encode(`order-${from + i}`),
      value: enc.encode(JSON.stringify({ orderId: `order-${from + i}`, total: i })),
      headers: [["produced_at", enc.encode("1790000000000")], ["schema", enc.encode("order.v1")]],
    }));
}

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

/** `value` as a zig-zag varint padded to 5 bytes (valid, but longer than the patch's fast path). */
function fiveByteVarInt(value: number): number[] {
  const v = value >= 0 ? value * 2 : -value * 2 - 1;
  return [0, 7, 14, 21, 28].map((shift, i) => ((v >>> shift) & 0x7f) | (i < 4 ? 0x80 : 0));
}

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
    [...fiveByteVarInt(good.length), ...good], // record length in 5 bytes: kafkajs' varint reader
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, ...good], // record length far past the batch
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

Deno.test("installFetchV11Decoder() decodes gzip and snappy batches like kafkajs", async () => {
  const original = setUp();
  for (const compression of [CompressionTypes.GZIP, CompressionTypes.Snappy]) {
    // Three batches, the middle one uncompressed: codecs switch within one record set.
    const messages = Buffer.concat([
      await batch(orders(50), {
        compression,
        firstOffset: 100n,
        firstTimestamp: 1_790_000_000_000,
      }),
      await batch(orders(3, 50), {
        compression: CompressionTypes.None,
        firstOffset: 150n,
        firstTimestamp: 1_790_000_000_100,
      }),
      await batch(orders(200, 53), {
        compression,
        firstOffset: 153n,
        firstTimestamp: 1_790_000_000_200,
      }),
    ]);
    const decoded = await same(original, fetchResponse([{ partition: 0, messages }]));
    const got = messagesOf(decoded);
    assert.equal(got.length, 253, `codec ${compression}`);
    assert.deepEqual(
      got.map((m) => Number(m.offset)),
      Array.from({ length: 253 }, (_, i) => 100 + i),
    );
    assert.equal(got[252]!.key?.toString(), "order-252");
    assert.equal(got[252]!.headers.schema?.toString(), "order.v1");
  }
});

Deno.test("installFetchV11Decoder() decodes control records like kafkajs", async () => {
  const original = setUp();
  for (const compression of COMPRESSIONS) {
    const messages = Buffer.concat([
      await batch(orders(4), {
        compression,
        firstOffset: 0n,
        firstTimestamp: 1_790_000_000_000,
        flags: TRANSACTIONAL,
        producerId: 9n,
        producerEpoch: 2,
      }),
      await batch([controlRecord(0, "commit")], {
        compression: CompressionTypes.None,
        firstOffset: 4n,
        firstTimestamp: 1_790_000_000_050,
        flags: TRANSACTIONAL | CONTROL,
        producerId: 9n,
        producerEpoch: 2,
      }),
      await batch([controlRecord(0, "abort")], {
        compression: CompressionTypes.None,
        firstOffset: 5n,
        firstTimestamp: 1_790_000_000_060,
        flags: TRANSACTIONAL | CONTROL,
        producerId: 10n,
        producerEpoch: 0,
      }),
    ]);
    const got = messagesOf(
      await same(original, fetchResponse([{ partition: 0, messages, abortedTransactions: [] }])),
    );
    assert.deepEqual(got.map((m) => m.isControlRecord), [false, false, false, false, true, true]);
    assert.deepEqual([...got[4]!.key!], [0, 0, 0, 1]); // commit marker
    assert.deepEqual([...got[5]!.key!], [0, 0, 0, 0]); // abort marker
    assert.equal(got[5]!.batchContext.producerId, "10");
    assert.ok(got.every((m) => m.batchContext.inTransaction));
  }
});

Deno.test("installFetchV11Decoder() decodes aborted transactions so kafkajs drops the same records", async () => {
  const original = setUp();
  // Producer 42 aborts offsets 100-104 (marker at 105); producer 43 commits 106-108 (marker at
  // 109); producer 42 then writes 110-111 in a new transaction, committed at 112.
  const txn = (records: RecordSpec[], firstOffset: bigint, producerId: bigint, flags = 0) =>
    batch(records, {
      compression: CompressionTypes.GZIP,
      firstOffset,
      firstTimestamp: 1_790_000_000_000,
      flags: TRANSACTIONAL | flags,
      producerId,
      producerEpoch: 1,
    });
  const messages = Buffer.concat([
    await txn(orders(5), 100n, 42n),
    await txn([controlRecord(0, "abort")], 105n, 42n, CONTROL),
    await txn(orders(3, 5), 106n, 43n),
    await txn([controlRecord(0, "commit")], 109n, 43n, CONTROL),
    await txn(orders(2, 8), 110n, 42n),
    await txn([controlRecord(0, "commit")], 112n, 42n, CONTROL),
  ]);
  const abortedTransactions = [{ producerId: 42n, firstOffset: 100n }];
  const decoded = await same(
    original,
    fetchResponse([{ partition: 0, messages, abortedTransactions }]),
  );
  const partition = decoded?.responses[0]?.partitions[0];
  assert.deepEqual(partition?.abortedTransactions, [{ producerId: "42", firstOffset: "100" }]);
  const visible = filterAbortedMessages({
    messages: messagesOf(decoded),
    abortedTransactions: partition!.abortedTransactions,
  }).filter((m) => !m.isControlRecord);
  assert.deepEqual(visible.map((m) => m.offset), ["106", "107", "108", "110", "111"]);
});

Deno.test("installFetchV11Decoder() stops at a batch cut short like kafkajs (partial messages)", async () => {
  const original = setUp();
  for (const compression of COMPRESSIONS) {
    const whole = [
      await batch(orders(5), { compression, firstOffset: 0n, firstTimestamp: 1_790_000_000_000 }),
      await batch(orders(7, 5), {
        compression,
        firstOffset: 5n,
        firstTimestamp: 1_790_000_000_000,
      }),
    ];
    const last = await batch(orders(20, 12), {
      compression,
      firstOffset: 12n,
      firstTimestamp: 1_790_000_000_000,
    });
    // Every cut a broker could make at maxBytes: inside the offset/length, the batch header, the
    // records; the record set's size covers only the bytes sent.
    for (let cut = 1; cut < last.length; cut++) {
      const messages = Buffer.concat([...whole, last.subarray(0, cut)]);
      const got = messagesOf(await same(original, fetchResponse([{ partition: 0, messages }])));
      assert.equal(got.length, 12, `cut at ${cut} of ${last.length}, codec ${compression}`);
    }
  }
});
