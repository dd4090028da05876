/**
 * Shutdown of `consumer/main.ts` on the real broker and S3 server (through an OutageProxy) with
 * writes in flight: the process exits within `--shutdown-timeout` (+ a margin) even when S3
 * hangs, commits nothing that is not durable, says what it left uncommitted, and a restart
 * stores everything (produced = stored + dead-lettered). Exit codes: 0 stopped within the
 * deadline, 1 the deadline passed with work unfinished, 130 a second SIGINT.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  bucketKeys,
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  createBucket,
  deleteBucket,
  orderCounts,
  orderJson,
  OutageProxy,
  plaintextKafka,
  readDlq,
  type Scenario,
  scenario,
  segmentsInBucket,
  until,
} from "./consumer_support.ts";

const PARTITIONS = 3;
const DEADLINE_MS = 3000;
/** Process exit after the deadline: logging, Deno.exit, the child's status reaching the test. */
const MARGIN_MS = 2000;

/**
 * Produces orders `<prefix>-<from..from+n-1>`, order i to partition i % PARTITIONS. Produced in
 * order from 0 by one producer at a time, order i has offset floor(i / PARTITIONS).
 */
async function producePlaced(topic: string, prefix: string, from: number, n: number) {
  const producer = plaintextKafka().producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let start = from; start < from + n; start += 500) {
      const end = Math.min(from + n, start + 500);
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: end - start }, (_, k) => {
          const i = start + k;
          const id = `${prefix}-${i}`;
          return {
            key: id,
            partition: i % PARTITIONS,
            value: Buffer.from(JSON.stringify(orderJson(id, i))),
            headers: { produced_at: String(Date.now()), schema: "orderflow.order.v1" },
          };
        }),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

function sum(m: Map<number, bigint>): bigint {
  return [...m.values()].filter((v) => v >= 0n).reduce((a, b) => a + b, 0n);
}

/** Asserts every order below each partition's committed offset is stored; returns the sum. */
async function assertCommittedDurable(
  s: Scenario,
  prefix: string,
  stored: ReadonlySet<string>,
): Promise<bigint> {
  const commits = await committed(s.group, s.topic);
  for (const [partition, offset] of commits) {
    for (let o = 0n; o < offset; o++) {
      const id = `${prefix}-${Number(o) * PARTITIONS + partition}`;
      assert.ok(
        stored.has(id),
        `partition ${partition} committed at ${offset} but offset ${o} (${id}) is not stored`,
      );
    }
  }
  return sum(commits);
}

interface Setup {
  readonly s: Scenario;
  readonly bucket: string;
  readonly proxy: OutageProxy;
  readonly env: Record<string, string>;
}

async function setup(name: string, extra: Record<string, string> = {}): Promise<Setup> {
  const s = await scenario(name, PARTITIONS);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const cosEnv = await createBucket(bucket);
  const target = new URL(cosEnv.COS_ENDPOINT!);
  const proxy = new OutageProxy({ hostname: target.hostname, port: Number(target.port) });
  proxy.up();
  const env = consumerEnv(s, {
    ...cosEnv,
    COS_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
    // A member that died without leaving is replaced after 6 s, not 30 s.
    CONSUMER_SESSION_TIMEOUT_MS: "6000",
    HTTP_PORT: "0",
    ...extra,
  });
  return { s, bucket, proxy, env };
}

async function teardown(t: Setup, procs: readonly (ConsumerProcess | undefined)[]) {
  for (const p of procs) {
    if (p === undefined) continue;
    try {
      p.kill("SIGKILL");
    } catch {
      // already exited
    }
    await p.exit().catch(() => undefined);
  }
  await t.proxy.down();
  await deleteBucket(t.bucket);
  await cleanup(t.s);
}

/** Stored order IDs (per-order keys, or the orders inside batched segments). */
async function storedIds(bucket: string, batched: boolean): Promise<Set<string>> {
  if (batched) return new Set(orderCounts(await segmentsInBucket(bucket)).keys());
  const ids = new Set<string>();
  for (const key of await bucketKeys("orders/", bucket)) {
    const m = /orderId=(.+)\.json$/.exec(key);
    if (m !== null) ids.add(m[1]!);
  }
  return ids;
}

/** Members of the group as the coordinator sees them now. */
async function groupMembers(group: string): Promise<number> {
  const admin = plaintextKafka({ clientId: "ctest-admin" }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    return groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** Sends `signal` and returns the exit code and how long the process took to exit. */
async function signalAndTime(p: ConsumerProcess, signal: Deno.Signal) {
  const t0 = performance.now();
  p.kill(signal);
  const code = await p.exit(60_000);
  return { code, ms: performance.now() - t0 };
}

/** A second run with the sink back: stores everything, commits everything, exits 0. */
async function restartAndReconcile(t: Setup, prefix: string, n: number, args: string[] = []) {
  const again = new ConsumerProcess(t.env, [
    "--until-idle",
    "1500",
    "--summary-interval",
    "0",
    ...args,
  ]);
  try {
    assert.equal(await again.exit(50_000), 0, again.lines.join("\n"));
  } finally {
    try {
      again.kill("SIGKILL");
    } catch {
      // exited
    }
  }
  const batched = t.env.SINK_LAYOUT === "batched";
  const ids = await storedIds(t.bucket, batched);
  const dlq = await readDlq(t.s.dlq);
  assert.equal(dlq.length, 0);
  assert.equal(ids.size + dlq.length, n, "produced = stored + dead-lettered");
  for (let i = 0; i < n; i++) assert.ok(ids.has(`${prefix}-${i}`), `${prefix}-${i} stored`);
  if (batched) {
    const counts = orderCounts(await segmentsInBucket(t.bucket));
    assert.deepEqual([...counts.values()].filter((c) => c !== 1), [], "each order in one object");
  }
  assert.equal(await assertCommittedDurable(t.s, prefix, ids), BigInt(n));
}

/**
 * Stores a first round (committed), then hangs S3 and produces a second round the consumer
 * fetches and cannot write.
 */
async function stallWithWritesInFlight(
  t: Setup,
  prefix: string,
  args: readonly string[],
  deadlineMs = DEADLINE_MS,
) {
  await producePlaced(t.s.topic, prefix, 0, 300);
  const proc = new ConsumerProcess(t.env, [
    "--shutdown-timeout",
    String(deadlineMs),
    "--summary-interval",
    "500",
    ...args,
  ]);
  await proc.waitFor(/stored=300 /, 40_000);
  await until("300 committed", async () => sum(await committed(t.s.group, t.s.topic)) === 300n);
  t.proxy.stall();
  await producePlaced(t.s.topic, prefix, 300, 300);
  await new Promise((r) => setTimeout(r, 2000)); // fetched, handled, stuck in the PUTs
  return proc;
}

for (const layout of ["per-order", "batched"] as const) {
  Deno.test(`consume (${layout}) exits 1 at --shutdown-timeout when S3 hangs with writes in flight, commits only what is durable`, async () => {
    const batched = layout === "batched";
    const t = await setup(`shut-${layout}`, batched ? { SINK_LAYOUT: "batched" } : {});
    const prefix = batched ? "sb" : "sp";
    const segmentArgs = batched ? ["--batch-records", "100", "--batch-max-age", "500"] : [];
    let proc: ConsumerProcess | undefined;
    try {
      proc = await stallWithWritesInFlight(t, prefix, segmentArgs);
      const { code, ms } = await signalAndTime(proc, "SIGTERM");
      const log = proc.lines.join("\n");
      assert.equal(code, 1, log);
      assert.ok(ms >= DEADLINE_MS - 100, `exited after ${ms} ms, before the deadline: ${log}`);
      assert.ok(ms <= DEADLINE_MS + MARGIN_MS, `exited after ${ms} ms, past the deadline`);
      const line = await proc.waitFor(/shutdown deadline of 3000 ms passed/, 1000);
      const left = Number(/(\d+) record\(s\) not durable were left uncommitted/.exec(line)?.[1]);
      assert.ok(left > 0 && left <= 300, line);
      assert.match(line, /will be re-delivered/);
      assert.equal(await groupMembers(t.s.group), 1, "the group was not left (as the log says)");

      const ids = await storedIds(t.bucket, batched);
      assert.equal(await assertCommittedDurable(t.s, prefix, ids), 300n, "nothing past round 1");

      t.proxy.up();
      await restartAndReconcile(t, prefix, 600, segmentArgs);
    } finally {
      await teardown(t, [proc]);
    }
  });
}

Deno.test("consume exits 0 within --shutdown-timeout when S3 refuses, leaving the failed records uncommitted", async () => {
  const t = await setup("shut-refused");
  let proc: ConsumerProcess | undefined;
  try {
    await producePlaced(t.s.topic, "sr", 0, 300);
    proc = new ConsumerProcess(t.env, [
      "--shutdown-timeout",
      String(DEADLINE_MS),
      "--summary-interval",
      "500",
    ]);
    await proc.waitFor(/stored=300 /, 40_000);
    await until("300 committed", async () => sum(await committed(t.s.group, t.s.topic)) === 300n);
    await t.proxy.down(); // refused: writes fail at once, the partitions retry with backoff
    await producePlaced(t.s.topic, "sr", 300, 300);
    await proc.waitFor(/paused: \d+ record\(s\) failed/, 20_000);
    const { code, ms } = await signalAndTime(proc, "SIGTERM");
    const log = proc.lines.join("\n");
    assert.equal(code, 0, log);
    assert.ok(ms <= DEADLINE_MS + MARGIN_MS, `exited after ${ms} ms`);
    const line = await proc.waitFor(/stopped cleanly; \d+ record\(s\) not durable/, 1000);
    assert.ok(Number(/(\d+) record/.exec(line)?.[1]) > 0, line);
    const ids = await storedIds(t.bucket, false);
    assert.equal(await assertCommittedDurable(t.s, "sr", ids), 300n);

    assert.equal(await groupMembers(t.s.group), 0, "left the group");
    t.proxy.up();
    await restartAndReconcile(t, "sr", 600);
  } finally {
    await teardown(t, [proc]);
  }
});

Deno.test("consume exits 130 at once on a second SIGINT during a stuck shutdown, committing nothing more", async () => {
  const t = await setup("shut-twice");
  let proc: ConsumerProcess | undefined;
  try {
    proc = await stallWithWritesInFlight(t, "st", [], 30_000);
    // A long deadline: only the second SIGINT can end this quickly.
    proc.kill("SIGINT");
    await proc.waitFor(/stopping \(SIGINT\)/, 5000);
    const { code, ms } = await signalAndTime(proc, "SIGINT");
    const log = proc.lines.join("\n");
    assert.equal(code, 130, log);
    assert.ok(ms < 1500, `second SIGINT took ${ms} ms`);
    assert.match(log, /second SIGINT during the shutdown: exiting now \(130\)/);
    const ids = await storedIds(t.bucket, false);
    assert.equal(await assertCommittedDurable(t.s, "st", ids), 300n);
    t.proxy.up();
    await restartAndReconcile(t, "st", 600);
  } finally {
    await teardown(t, [proc]);
  }
});
