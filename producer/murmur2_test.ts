import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Partitioners } from "kafkajs";
import { KeyPartitioner, murmur2 } from "./murmur2.ts";
import { SeededRandom } from "./random.ts";

Deno.test("murmur2() matches the Java client's test vectors", () => {
  // From Kafka's UtilsTest.testMurmur2.
  const cases: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ];
  for (const [text, expected] of cases) {
    assert.equal(murmur2(new TextEncoder().encode(text)), expected, text);
  }
  assert.equal(murmur2(new Uint8Array([97, 98, 99])), 479470107); // "abc"
});

Deno.test("KeyPartitioner.partition() agrees with kafkajs' DefaultPartitioner on 20k keys", () => {
  const kafkajs = Partitioners.DefaultPartitioner();
  const ours = new KeyPartitioner();
  const random = new SeededRandom(3);
  const alphabet = "abcXYZ019-_.é漢😀";
  for (let i = 0; i < 20_000; i++) {
    const length = random.int(0, 80);
    let key = "";
    for (let j = 0; j < length; j++) key += [...alphabet][random.int(0, [...alphabet].length - 1)];
    const partitions = random.int(1, 64);
    const partitionMetadata = Array.from({ length: partitions }, (_, p) => ({
      partitionId: p,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }));
    const expected = kafkajs({ topic: "t", partitionMetadata, message: { key, value: null } });
    assert.equal(ours.partition(key, partitions), expected, JSON.stringify(key));
    assert.equal(
      ours.partition(key, partitions),
      kafkajs({ topic: "t", partitionMetadata, message: { key: Buffer.from(key), value: null } }),
    );
  }
});
