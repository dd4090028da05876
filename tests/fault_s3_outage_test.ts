/**
 * Fault: the S3 server becomes unreachable mid-stream (a TCP proxy in front of the shared moto
 * server is taken down; moto itself keeps running) while the producer CLI is producing. During
 * the outage no offset is committed past a record that is not in the bucket; the consumer
 * resumes within 5 s of the server's return, never rebalances, and loses nothing.
 * CI: 8 s outage; `SOAK=1`: 20 s.
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
  OutageProxy,
  scenario,
  until,
} from "./consumer_support.ts";
import {
  plaintextEnv,
  ProducerProcess,
  reconcile,
  sized,
  sleep,
  sprinkleBad,
} from "./fault_support.ts";

function idsOf(keys: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const k of keys) {
    const m = /^orders\/dt=[0-9-]+\/orderId=(.+)\.json$/.exec(k);
    if (m !== null) out.add(m[1]!);
  }
  return out;
}

Deno.test("consumer commits nothing unpersisted during an S3 outage, resumes within 5 s, no rebalance", async () => {
  const count = sized(5_000, 60_000);
  const rate = sized(400, 1_500); // stream ~12 s (CI) / ~40 s (soak)
  const outageMs = sized(8_000, 20_000);
  const s = await scenario("fault-s3", 3);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const cosEnv = await createBucket(bucket);
  const target = new URL(cosEnv.COS_ENDPOINT!);
  const proxy = new OutageProxy({ hostname: target.hostname, port: Number(target.port) });
  proxy.up();
  let proc: ConsumerProcess | undefined;
  let producer: ProducerProcess | undefined;
  try {
    const bad = await sprinkleBad(s.topic, "s3");
    proc = new ConsumerProcess(
      plaintextEnv(
        consumerEnv(s, {
          ...cosEnv,
          COS_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
          HTTP_PORT: "0",
        }),
      ),
      ["--from-beginning", "--summary-interval", "1000"],
    );
    await proc.waitFor(/joined group/, 60_000);
    producer = new ProducerProcess(plaintextEnv(), [
      "--topic",
      s.topic,
      "--seed",
      "4242",
      "--count",
      String(count),
      "--rate",
      String(rate),
    ]);
    await until("500 orders in the bucket", async () => {
      return (await bucketKeys("orders/", bucket)).length >= 500;
    }, 60_000);

    // Outage: snapshot (committed offsets, then bucket contents) every second; checked below
    // against the producer's per-record partition/offset once it has finished.
    await proxy.down();
    const downAt = Date.now();
    const snapshots: { committed: Map<number, bigint>; stored: Set<string> }[] = [];
    while (Date.now() - downAt < outageMs) {
      const c = await committed(s.group, s.topic);
      // the bucket is read through moto directly (not the proxy): what is really durable
      snapshots.push({ committed: c, stored: idsOf(await bucketKeys("orders/", bucket)) });
      await sleep(1000);
    }
    const storedAtReturn = (await bucketKeys("orders/", bucket)).length;
    proxy.up();
    const upAt = Date.now();
    await until("a write after the return", async () => {
      return (await bucketKeys("orders/", bucket)).length > storedAtReturn;
    }, 30_000);
    const recoveryMs = Date.now() - upAt;

    const run = await producer.result();
    producer = undefined;
    assert.equal(run.code, 0, run.stderr);
    const acked = run.deliveries.filter((d) => d.status === "acked");
    assert.equal(acked.length, count);
    const valid = new Set(acked.map((d) => d.key!));
    await until(
      "every order in the bucket",
      async () => {
        return idsOf(await bucketKeys("orders/", bucket)).size >= count;
      },
      sized(120_000, 600_000),
      2_000,
    ); // listing 60k keys (soak) is heavy for moto: ask seldom

    // No commit past an unpersisted record, at any snapshot of the outage.
    let checked = 0;
    for (const snap of snapshots) {
      for (const d of acked) {
        const c = snap.committed.get(d.partition!) ?? -1n;
        if (BigInt(d.offset!) < c) {
          checked++;
          assert.ok(
            snap.stored.has(d.key!),
            `offset ${d.partition}/${d.offset} (${d.key}) committed but not in the bucket`,
          );
        }
      }
    }
    assert.ok(checked > 0, "the snapshots covered committed records");
    const duringOutage = snapshots.map((x) =>
      [...x.committed.values()].filter((v) => v >= 0n).reduce((a, b) => a + b, 0n)
    );

    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const joins = proc.lines.filter((l) => /joined group/.test(l)).length;
    assert.equal(joins, 1, "one group join: no rebalance during the outage");
    assert.ok(proc.lines.some((l) => /resumed after/.test(l)), "the consumer says it resumed");
    proc = undefined;
    const result = await reconcile(s, valid, bad, idsOf(await bucketKeys("orders/", bucket)));
    console.error(
      `  outage ${outageMs} ms, ${snapshots.length} snapshots, ${checked} committed-record checks, ` +
        `recovery ${recoveryMs} ms, committed during outage ${duringOutage.join(",")}, ` +
        JSON.stringify(result),
    );
    assert.ok(recoveryMs <= 5_000, `resumed ${recoveryMs} ms after S3 returned (target 5 s)`);
  } finally {
    if (proc !== undefined) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already exited
      }
      await proc.exit().catch(() => undefined);
    }
    if (producer !== undefined) {
      producer.child.kill("SIGKILL");
      await producer.result().catch(() => undefined);
    }
    await proxy.down();
    await deleteBucket(bucket);
    await cleanup(s);
  }
});
