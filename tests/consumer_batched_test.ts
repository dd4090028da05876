/**
 * `SINK_LAYOUT=batched` through `consumer/main.ts` on the real broker and S3 server: every
 * produced order lands in an NDJSON segment object named after partition + offset range, bad
 * records are dead-lettered, a SIGKILL + restart loses nothing and (segments being aligned to
 * offsets) the read rule still sees each order once.
 */
import assert from "node:assert/strict";
import {
  bucketKeys,
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  createBucket,
  deleteBucket,
  type Msg,
  orderCounts,
  produce,
  readDlq,
  scenario,
  type SegmentObject,
  segmentsInBucket,
  segmentsLocal,
  until,
  validOrders,
} from "./consumer_support.ts";

const N = 200; // --batch-records in these tests

function args(extra: string[]): string[] {
  return [
    "--batch-records",
    String(N),
    "--batch-max-age",
    "300",
    "--summary-interval",
    "0",
    ...extra,
  ];
}

/**
 * Checks names and contents: at most N lines, every line's date is the key's dt, and exactly one
 * object per dt × partition × aligned segment (a replay cut elsewhere would add a second one).
 */
function assertSegmentShape(segments: Map<string, SegmentObject>): void {
  const slots = new Map<string, string>();
  for (const [key, s] of segments) {
    const slot = `${s.dt}/${s.partition}/${s.firstOffset / BigInt(N)}`;
    assert.equal(slots.get(slot), undefined, `${key} and ${slots.get(slot)} share a segment`);
    slots.set(slot, key);
    assert.ok(s.orders.length > 0 && s.orders.length <= N, `${key}: ${s.orders.length} lines`);
    for (const o of s.orders) {
      assert.equal(String(o.created_at).slice(0, 10), s.dt, `${key}: dt`);
      assert.equal(typeof o.risk_score, "number");
    }
  }
}

function sum(m: Map<number, bigint>): bigint {
  return [...m.values()].filter((v) => v >= 0n).reduce((a, b) => a + b, 0n);
}

function withBad(good: Msg[]): { messages: Msg[]; bad: number } {
  const messages: Msg[] = [];
  let bad = 0;
  good.forEach((m, i) => {
    messages.push(m);
    if (i % 250 === 7) {
      messages.push({ key: `bad-${i}`, value: "{not json" });
      bad++;
    }
  });
  return { messages, bad };
}

Deno.test("consume SINK_LAYOUT=batched stores every order once in offset-aligned NDJSON objects on disk", async () => {
  const s = await scenario("batched", 3);
  try {
    const good = validOrders("b", 3000);
    const { messages, bad } = withBad(good);
    await produce(s.topic, messages);
    const proc = new ConsumerProcess(
      consumerEnv(s, { SINK_LAYOUT: "batched" }),
      args(["--until-idle", "2000"]),
    );
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const segments = await segmentsLocal(s.dir);
    assertSegmentShape(segments);
    const counts = orderCounts(segments);
    assert.deepEqual([...counts.keys()].sort(), good.map((m) => m.key!).sort());
    assert.ok([...counts.values()].every((c) => c === 1), "no order stored twice");
    const dlq = await readDlq(s.dlq);
    assert.equal(dlq.length, bad);
    assert.equal(messages.length, counts.size + dlq.length, "produced = stored + dead-lettered");
    // Commits cover complete segments: at most N-1 records per partition stay uncommitted.
    const c = await committed(s.group, s.topic);
    const uncommitted = BigInt(messages.length) - sum(c);
    assert.ok(uncommitted >= 0n && uncommitted < BigInt(3 * N), `uncommitted ${uncommitted}`);
    for (const offset of c.values()) {
      assert.ok(offset >= 0n, "every partition committed something");
    }
  } finally {
    await cleanup(s);
  }
});

async function killAndRestart(name: string, n: number, cos: boolean): Promise<void> {
  const s = await scenario(name);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const cosEnv = cos ? await createBucket(bucket) : {};
  const stored = () => cos ? segmentsInBucket(bucket) : segmentsLocal(s.dir);
  try {
    const good = validOrders("k", n);
    const { messages, bad } = withBad(good);
    await produce(s.topic, messages);
    const env = consumerEnv(s, { ...cosEnv, SINK_LAYOUT: "batched" });
    const first = new ConsumerProcess(env, args([]));
    const objects = async () =>
      cos ? (await bucketKeys("orders/", bucket)).length : (await segmentsLocal(s.dir)).size;
    await until("some segments written", async () => (await objects()) >= 20, 60_000);
    first.kill("SIGKILL");
    assert.notEqual(await first.exit(), 0);
    const before = orderCounts(await stored()).size;
    assert.ok(before < n, `killed too late (${before} stored): nothing to prove`);
    const afterKill = sum(await committed(s.group, s.topic));
    assert.ok(afterKill <= BigInt(before + bad), "never committed more than stored");

    const second = new ConsumerProcess(env, args(["--until-idle", "2000"]));
    assert.equal(await second.exit(), 0, second.lines.join("\n"));
    const segments = await stored();
    assertSegmentShape(segments);
    const counts = orderCounts(segments);
    assert.deepEqual([...counts.keys()].sort(), good.map((m) => m.key!).sort(), "none lost");
    const dupes = [...counts].filter(([, c]) => c > 1).length;
    assert.equal(dupes, 0, "after a replay, the read rule sees each order once");
    const dlqIds = new Set((await readDlq(s.dlq)).map((r) => r.key));
    assert.equal(dlqIds.size, bad);
    assert.equal(messages.length, counts.size + dlqIds.size, "produced = unique stored + DLQ");
  } finally {
    if (cos) await deleteBucket(bucket);
    await cleanup(s);
  }
}

Deno.test("consume SINK_LAYOUT=batched loses nothing and adds no duplicates when SIGKILLed and restarted", async () => {
  await killAndRestart("batchkill", 12_000, false);
});

Deno.test("consume SINK_LAYOUT=batched on S3 loses nothing and adds no duplicates when SIGKILLed and restarted", async () => {
  await killAndRestart("batchkillcos", 8000, true);
});

Deno.test("consume SINK_LAYOUT=batched stores NDJSON objects in the S3 bucket under the same keys", async () => {
  const s = await scenario("batchcos", 2);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const cosEnv = await createBucket(bucket);
  try {
    const good = validOrders("c", 1500);
    await produce(s.topic, good);
    const proc = new ConsumerProcess(
      consumerEnv(s, { ...cosEnv, SINK_LAYOUT: "batched" }),
      args(["--until-idle", "2000"]),
    );
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const segments = await segmentsInBucket(bucket);
    assertSegmentShape(segments);
    const counts = orderCounts(segments);
    assert.deepEqual([...counts.keys()].sort(), good.map((m) => m.key!).sort());
    assert.ok([...counts.values()].every((c) => c === 1));
    assert.ok(
      [...segments.keys()].every((k) => /part=[01]\/offset=\d{20}-\d{20}\.ndjson$/.test(k)),
    );
  } finally {
    await deleteBucket(bucket);
    await cleanup(s);
  }
});
