/**
 * End-to-end delivery through `consumer/main.ts` against the real broker and S3 server:
 * every produced order is stored under its key (local disk and bucket), bad records are
 * dead-lettered with reasons, and produced = stored + dead-lettered.
 */
import assert from "node:assert/strict";
import {
  bucketKeys,
  bucketObject,
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  createBucket,
  deleteBucket,
  dtOf,
  type Msg,
  orderJson,
  produce,
  readDlq,
  scenario,
  storedLocal,
  validOrders,
} from "./consumer_support.ts";

Deno.test("consume stores 10k orders on local disk under their keys, commits everything", async () => {
  const s = await scenario("local10k");
  try {
    const n = 10_000;
    await produce(s.topic, validOrders("o", n));
    const proc = new ConsumerProcess(consumerEnv(s), [
      "--from-beginning",
      "--max-records",
      String(n),
      "--summary-interval",
      "0",
    ]);
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const stored = await storedLocal(s.dir);
    assert.equal(stored.size, n);
    for (let i = 0; i < n; i += 997) {
      const got = stored.get(`o-${i}`);
      assert.ok(got !== undefined, `o-${i} missing`);
      assert.equal(got.dt, dtOf(i));
      const want = orderJson(`o-${i}`, i);
      assert.equal(got.body.total, want.total);
      assert.equal(got.body.customerId, want.customerId);
      assert.equal(typeof got.body.risk_score, "number");
      assert.equal(typeof got.body.latency_ms, "number");
    }
    const offsets = await committed(s.group, s.topic);
    const sum = [...offsets.values()].reduce((a, b) => a + b, 0n);
    assert.equal(sum, BigInt(n), "every record committed");
  } finally {
    await cleanup(s);
  }
});

Deno.test("consume dead-letters bad records with reasons and stores their neighbours", async () => {
  const s = await scenario("dlq", 1);
  try {
    const bad: Msg[] = [
      { key: "bad-json", value: "{not json" },
      {
        key: "bad-order",
        value: JSON.stringify({ ...orderJson("x-1", 1), total: -1, currency: "usd" }),
      },
      { key: "traversal", value: JSON.stringify(orderJson("../../etc/passwd", 2)) },
      { key: "utf8", value: new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]) },
      { key: "tombstone", value: null },
    ];
    const messages: Msg[] = [];
    const good = validOrders("n", 10);
    for (let i = 0; i < 10; i++) {
      messages.push(good[i]!);
      if (i < bad.length) messages.push(bad[i]!);
    }
    await produce(s.topic, messages);
    const proc = new ConsumerProcess(consumerEnv(s), [
      "--from-beginning",
      "--max-records",
      String(messages.length),
      "--summary-interval",
      "0",
    ]);
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const stored = await storedLocal(s.dir);
    assert.deepEqual([...stored.keys()].sort(), good.map((m) => m.key!).sort());
    const dlq = await readDlq(s.dlq);
    const reasons = new Map(dlq.map((r) => [r.key, r.headers["dlq.reason"]]));
    assert.deepEqual(Object.fromEntries(reasons), {
      "bad-json": "invalid_json",
      "bad-order": "invalid_order",
      "traversal": "unsafe_order_id",
      "utf8": "undecodable",
      "tombstone": "empty",
    });
    const invalid = dlq.find((r) => r.key === "bad-order")!;
    assert.match(invalid.headers["dlq.detail"]!, /total/);
    assert.match(invalid.headers["dlq.detail"]!, /currency/);
    assert.equal(invalid.headers["dlq.source.topic"], s.topic);
    assert.equal(invalid.headers["dlq.source.partition"], "0");
    assert.equal(invalid.headers["schema"], "orderflow.order.v1");
    // original bytes preserved
    assert.deepEqual([...dlq.find((r) => r.key === "utf8")!.value!], [0x7b, 0xc3, 0x28, 0x7d]);
    assert.equal(dlq.find((r) => r.key === "tombstone")!.value, null);
    // nothing escaped the sink root
    await assert.rejects(Deno.stat(`${s.dir}/../etc/passwd`));
    // reconcile: produced = stored + dead-lettered, and everything committed
    assert.equal(messages.length, stored.size + dlq.length);
    assert.equal((await committed(s.group, s.topic)).get(0), BigInt(messages.length));
  } finally {
    await cleanup(s);
  }
});

Deno.test("consume stores orders in the S3 bucket under their keys (SINK=cos)", async () => {
  const s = await scenario("cos", 3);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const cosEnv = await createBucket(bucket);
  try {
    const n = 2000;
    await produce(s.topic, validOrders("c", n));
    // A bucket of its own keeps this test apart from other engineers' objects.
    const proc = new ConsumerProcess(consumerEnv(s, cosEnv), [
      "--from-beginning",
      "--max-records",
      String(n),
      "--summary-interval",
      "0",
    ]);
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const keys = await bucketKeys("orders/", bucket);
    assert.equal(keys.length, n);
    assert.ok(keys.includes(`orders/dt=${dtOf(7)}/orderId=c-7.json`));
    const body = JSON.parse(await bucketObject(`orders/dt=${dtOf(7)}/orderId=c-7.json`, bucket));
    assert.equal(body.orderId, "c-7");
    assert.equal(body.total, orderJson("c-7", 7).total);
    assert.equal(typeof body.consumed_at, "string");
  } finally {
    await deleteBucket(bucket);
    await cleanup(s);
  }
});
