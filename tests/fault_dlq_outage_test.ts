/**
 * The dead-letter topic becomes unavailable mid-stream: it is deleted (the local broker has
 * `auto.create.topics.enable=false`, so nothing recreates it) while a bad record and valid
 * records after it arrive on the same partition. The bad record's offset is never committed past
 * while the DLQ is gone — longer than the 6 s session timeout, without a rebalance — and once the
 * topic exists again the record lands in it; nothing is lost or skipped.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  createTopic,
  deleteTopic,
  plaintextKafka,
  produce,
  readDlq,
  scenario,
  until,
  validOrders,
} from "./consumer_support.ts";
import { checkedLocal, sleep } from "./fault_support.ts";

async function topicExists(topic: string): Promise<boolean> {
  const admin = plaintextKafka({ clientId: "ctest-admin" }).admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).includes(topic);
  } finally {
    await admin.disconnect();
  }
}

Deno.test("consume with the DLQ topic deleted: no commit past the bad record, it lands once the topic is back", async () => {
  const s = await scenario("dlq-down", 1);
  let proc: ConsumerProcess | undefined;
  try {
    await produce(s.topic, validOrders("a", 50)); // offsets 0..49
    proc = new ConsumerProcess(
      consumerEnv(s, { HTTP_PORT: "0", CONSUMER_SESSION_TIMEOUT_MS: "6000" }),
      ["--from-beginning", "--summary-interval", "500"],
    );
    await until("50 committed", async () => (await committed(s.group, s.topic)).get(0) === 50n);

    await deleteTopic(s.dlq);
    await until("the DLQ topic is gone", async () => !(await topicExists(s.dlq)), 30_000, 250);
    await produce(s.topic, [
      ...validOrders("b", 20), // offsets 50..69
      { key: "bad-1", value: "{not json" }, // offset 70
      ...validOrders("c", 20), // offsets 71..90
    ]);
    const BAD = 70n;
    await proc.waitFor(/cannot publish 1 record\(s\) to the DLQ/, 60_000);
    await proc.waitFor(/paused: 1 record\(s\) failed from offset 70/, 30_000);

    // DLQ gone for longer than the session timeout: commits stop at the bad record.
    const samples: bigint[] = [];
    const downFor = Date.now();
    while (Date.now() - downFor < 9_000) {
      const c = (await committed(s.group, s.topic)).get(0) ?? -1n;
      samples.push(c);
      assert.ok(c <= BAD, `committed ${c}: past the bad record at ${BAD} while the DLQ is gone`);
      await sleep(500);
    }
    assert.equal(samples.at(-1), BAD, "everything before the bad record is committed");
    assert.equal((await checkedLocal(s.dir)).ids.size, 90, "valid records around it are stored");

    await createTopic(s.dlq, 1);
    await until(
      "the bad record committed past",
      async () => (await committed(s.group, s.topic)).get(0) === 91n,
      60_000,
      500,
    );
    const dlq = await readDlq(s.dlq);
    const sources = new Set(
      dlq.map((r) => `${r.headers["dlq.source.partition"]}/${r.headers["dlq.source.offset"]}`),
    );
    assert.deepEqual([...sources], ["0/70"], "the bad record (and only it) is dead-lettered");
    assert.equal(dlq[0]!.key, "bad-1");
    assert.equal(new TextDecoder().decode(dlq[0]!.value!), "{not json");

    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const log = proc.lines.join("\n");
    proc = undefined;
    assert.equal(log.match(/joined group/g)?.length, 1, "no rebalance while the DLQ was gone");
    const stored = (await checkedLocal(s.dir)).ids;
    const expected = [
      ...validOrders("a", 50),
      ...validOrders("b", 20),
      ...validOrders("c", 20),
    ].map((m) => m.key!);
    assert.deepEqual([...stored].sort(), expected.sort(), "produced = stored + dead-lettered");
    console.error(`  committed while the DLQ was gone: ${[...new Set(samples)].join(",")}`);
  } finally {
    if (proc !== undefined) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already exited
      }
      await proc.exit().catch(() => undefined);
    }
    await cleanup(s);
  }
});
