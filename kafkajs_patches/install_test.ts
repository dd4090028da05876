import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionCodecs } from "kafkajs";
import {
  describePatchReport,
  installKafkajsPatches,
  kafkajsMismatch,
  kafkajsPatchReport,
  patchReportJson,
} from "./mod.ts";
import {
  apiKeys,
  type DecodedMessage,
  Decoder,
  Encoder,
  fetchV11Response,
  requests,
} from "./_kafkajs.ts";
import {
  decodeFetchV11,
  installFetchV11Decoder,
  uninstallFetchV11Decoder,
} from "./_fetch_v11_decoder.ts";
import {
  installVarintEncoder,
  uninstallVarintEncoder,
  varintEncoderOriginals,
} from "./_varint_encoder.ts";
import { checkFetchV11Decoder, checkVarintEncoder } from "./_self_test.ts";
import { fetchResponse } from "./_fetch_fixtures.ts";

Deno.test("installKafkajsPatches() installs both patches once on kafkajs 2.2.4", () => {
  const report = installKafkajsPatches();
  assert.equal(installKafkajsPatches(), report);
  assert.equal(kafkajsPatchReport(), report);
  assert.deepEqual(report, {
    kafkajsVersion: "2.2.4",
    patchedVersion: "2.2.4",
    patches: [{ name: "fetch_v11_decoder", live: true }, { name: "varint_encoder", live: true }],
  });
  assert.equal(fetchV11Response.decode, decodeFetchV11);
  assert.notEqual(Encoder.prototype.writeUVarInt, varintEncoderOriginals()?.writeUVarInt);
  assert.deepEqual(patchReportJson(report), {
    kafkajs: "2.2.4",
    fetch_v11_decoder: "live",
    varint_encoder: "live",
  });
});

Deno.test("installKafkajsPatches(): kafkajs' broker path encodes and decodes through the patches", async () => {
  installKafkajsPatches();
  const versions = {
    [apiKeys.Produce]: { minVersion: 0, maxVersion: 7 },
    [apiKeys.Fetch]: { minVersion: 0, maxVersion: 11 },
  };
  const lookup = requests.lookup(versions);
  const sent = Array.from({ length: 20 }, (_, i) => ({
    key: Buffer.from(`order-${i}`),
    value: Buffer.from(JSON.stringify({ orderId: `order-${i}` })),
    timestamp: 1_790_000_000_000 + i,
    headers: { produced_at: Buffer.from(String(1_790_000_000_000 + i)) },
  }));
  const encoder = await lookup(apiKeys.Produce, requests.requests.Produce)({
    acks: -1,
    timeout: 1000,
    topicData: [{
      topic: "orders",
      partitions: [{ partition: 0, firstSequence: 0, messages: sent }],
    }],
  }).request.encode();
  assert.equal(Object.getPrototypeOf(encoder), Encoder.prototype);
  // Produce v3+: transactional id, acks, timeout, [topic [partition, record set]].
  const d = new Decoder(Buffer.from(encoder.buffer));
  d.readString();
  d.readInt16();
  d.readInt32();
  assert.equal(d.readInt32(), 1);
  assert.equal(d.readString(), "orders");
  assert.equal(d.readInt32(), 1);
  assert.equal(d.readInt32(), 0);
  const recordSet = d.readBytes(d.readInt32())!;
  const decode = lookup(apiKeys.Fetch, requests.requests.Fetch)({ maxWaitTime: 0, topics: [] })
    .response.decode;
  assert.equal(decode, decodeFetchV11, "the broker's Fetch decode is the patched one");
  const decoded = await decode(fetchResponse([{ partition: 0, messages: recordSet }])) as {
    responses: { partitions: { messages: DecodedMessage[] }[] }[];
  };
  const got = decoded.responses[0]!.partitions[0]!.messages;
  assert.deepEqual(got.map((m) => m.key?.toString()), sent.map((m) => m.key.toString()));
  assert.deepEqual(got.map((m) => m.timestamp), sent.map((m) => String(m.timestamp)));
  assert.deepEqual(got.map((m) => m.offset), sent.map((_, i) => String(i)));
  assert.equal(got[19]!.headers.produced_at?.toString(), "1790000000019");
});

Deno.test("kafkajsMismatch() keeps the patches off on another version, a missing file or another kafkajs copy", () => {
  assert.equal(kafkajsMismatch({ version: "2.2.4", publicCodecs: CompressionCodecs }), undefined);
  assert.equal(
    kafkajsMismatch({ version: "2.2.5", publicCodecs: CompressionCodecs }),
    "kafkajs 2.2.5 != 2.2.4",
  );
  assert.equal(
    kafkajsMismatch({ version: "2.2.4", publicCodecs: { ...CompressionCodecs } }),
    "the app's kafkajs is another copy than the one patched",
  );
  assert.equal(
    kafkajsMismatch({
      version: "2.2.4",
      publicCodecs: CompressionCodecs,
      unloadable: "./src/protocol/encoder.js (Cannot find module)",
    }),
    "cannot load kafkajs ./src/protocol/encoder.js (Cannot find module)",
  );
});

Deno.test("the install self-tests fail when kafkajs does not reach a patch", () => {
  installKafkajsPatches();
  assert.equal(checkFetchV11Decoder(), undefined);
  const originals = varintEncoderOriginals()!;
  assert.equal(checkVarintEncoder(originals), undefined);
  uninstallFetchV11Decoder();
  uninstallVarintEncoder();
  try {
    assert.equal(
      checkFetchV11Decoder(),
      "kafkajs' broker does not reach the patched Fetch v11 decode",
    );
    assert.equal(
      checkVarintEncoder(originals),
      "kafkajs' Encoder prototype does not carry the patched varint writer",
    );
  } finally {
    installFetchV11Decoder();
    installVarintEncoder();
  }
  assert.equal(checkFetchV11Decoder(), undefined);
});

Deno.test("describePatchReport() names each patch that is off and why", () => {
  assert.equal(
    describePatchReport({
      kafkajsVersion: "2.2.4",
      patchedVersion: "2.2.4",
      patches: [
        { name: "fetch_v11_decoder", live: false, reason: "self-test: decoded records differ" },
        { name: "varint_encoder", live: true },
      ],
    }),
    "kafkajs patches: fetch_v11_decoder off (self-test: decoded records differ), " +
      "varint_encoder live (kafkajs 2.2.4)",
  );
});
