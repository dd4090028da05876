/**
 * Failure scenarios through `consumer/main.ts` on the real broker and S3 server: a SIGKILL
 * mid-stream loses nothing; a sink outage commits nothing past the failure, pauses without a
 * rebalance, and everything arrives once the sink is back.
 */
import assert from "node:assert/strict";
import {
  bucketKeys,
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  countLocal,
  createBucket,
  deleteBucket,
  OutageProxy,
  produce,
  readDlq,
  scenario,
  storedLocal,
  until,
  validOrders,
} from "./consumer_support.ts";

function sum(m: Map<number, bigint>): bigint {
  return [...m.values()].filter((v) => v >= 0n).reduce((a, b) => a + b, 0n);
}

Deno.test("consume loses nothing when SIGKILLed mid-stream and restarted", async () => {
  const s = await scenario("kill");
  try {
    const n = 10_000;
    const produced = validOrders("k", n);
    await produce(s.topic, produced);
    const first = new ConsumerProcess(consumerEnv(s), [
      "--from-beginning",
      "--summary-interval",
      "0",
    ]);
    await until("some orders stored", () => countLocal(s.dir) >= 1500, 60_000);
    first.kill("SIGKILL");
    const code = await first.exit();
    assert.notEqual(code, 0);
    const before = countLocal(s.dir);
    assert.ok(before < n, `killed too late (${before} stored): nothing to prove`);
    const afterKill = sum(await committed(s.group, s.topic));
    assert.ok(afterKill <= BigInt(before), "never committed more than stored");

    // No start flag: partitions the first run never committed start at the earliest offset by
    // default (kafkajs consults it only for partitions without a commit).
    const second = new ConsumerProcess(consumerEnv(s), [
      "--until-idle",
      "2000",
      "--summary-interval",
      "0",
    ]);
    assert.equal(await second.exit(), 0, second.lines.join("\n"));
    console.error(second.lines.filter((l) => /stored=/.test(l)).join("\n"));
    const stored = await storedLocal(s.dir);
    assert.deepEqual(
      [...stored.keys()].sort(),
      produced.map((m) => m.key!).sort(),
      "stored keys == produced ids",
    );
    assert.equal(sum(await committed(s.group, s.topic)), BigInt(n));
    assert.equal((await readDlq(s.dlq)).length, 0); // reconcile: produced = stored + DLQ
  } finally {
    await cleanup(s);
  }
});

Deno.test("consume pauses on an S3 outage without committing or rebalancing, then catches up", async () => {
  const s = await scenario("outage", 3);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const cosEnv = await createBucket(bucket);
  const target = new URL(cosEnv.COS_ENDPOINT!);
  const proxy = new OutageProxy({ hostname: target.hostname, port: Number(target.port) });
  proxy.up();
  let proc: ConsumerProcess | undefined;
  try {
    await produce(s.topic, validOrders("u", 300));
    proc = new ConsumerProcess(
      consumerEnv(s, {
        ...cosEnv,
        COS_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
        CONSUMER_SESSION_TIMEOUT_MS: "6000",
      }),
      ["--from-beginning", "--summary-interval", "500"],
    );
    await proc.waitFor(/stored=300 /, 60_000);
    await until("300 committed", async () => sum(await committed(s.group, s.topic)) === 300n);

    await proxy.down(); // outage
    await produce(s.topic, validOrders("u", 300, 300));
    await proc.waitFor(/paused: \d+ record\(s\) failed/, 30_000);
    // Down for longer than the 6 s session timeout: only heartbeats during the pause keep this
    // member in the group.
    await new Promise((r) => setTimeout(r, 9000));
    assert.equal(
      sum(await committed(s.group, s.topic)),
      300n,
      "nothing committed during the outage",
    );
    assert.equal((await bucketKeys("orders/", bucket)).length, 300);

    proxy.up(); // recovery
    await proc.waitFor(/stored=600 /, 60_000);
    await until("600 committed", async () => sum(await committed(s.group, s.topic)) === 600n);
    assert.equal((await bucketKeys("orders/", bucket)).length, 600);
    const joins = proc.lines.filter((l) => /joined group/.test(l)).length;
    assert.equal(joins, 1, "no rebalance during the outage");
    assert.ok(proc.lines.some((l) => /resumed after/.test(l)));
    assert.equal((await readDlq(s.dlq)).length, 0);

    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0);
    proc = undefined;
  } finally {
    if (proc !== undefined) {
      proc.kill("SIGKILL");
      await proc.exit().catch(() => undefined);
    }
    await proxy.down();
    await deleteBucket(bucket);
    await cleanup(s);
  }
});
