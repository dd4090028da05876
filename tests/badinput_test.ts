/**
 * The bad-input corpus (`tests/fixtures/bad_records.ts`, 60+ kinds) sent raw with kafkajs,
 * interleaved with valid orders, through a real `consumer/main.ts`: every bad record lands in
 * the DLQ with the expected `dlq.reason`, its original key and bytes and its source offset; the
 * consumer keeps running; every valid neighbour (and the tricky-but-valid ones) is stored.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  committed,
  consumerEnv,
  ConsumerProcess,
  plaintextKafka,
  readDlq,
  storedLocal,
  uniqueName,
  until,
} from "./consumer_support.ts";
import { badRecords, order, OVERSIZED_BYTES, trickyValid } from "./fixtures/bad_records.ts";
import { plaintextEnv } from "./fault_support.ts";
import { DLQ_MAX_VALUE_BYTES } from "../consumer/dlq.ts";

const MAX_MESSAGE_BYTES = String(8 * 1024 * 1024);

Deno.test("consumer dead-letters every kind of bad record with its reason and stores the valid neighbours", async () => {
  const topic = uniqueName("badinput");
  const s = {
    topic,
    dlq: `${topic}.dlq`,
    group: `${topic}-group`,
    dir: `./data/test/${topic}`,
    prefix: "",
  };
  const admin = plaintextKafka({ clientId: "badinput-admin" }).admin();
  await admin.connect();
  let proc: ConsumerProcess | undefined;
  try {
    // The broker's default max.message.bytes (~1 MiB) would refuse the oversized record (and the
    // DLQ copy of it): raise it on both topics.
    await admin.createTopics({
      waitForLeaders: true,
      topics: [s.topic, s.dlq].map((t) => ({
        topic: t,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [{ name: "max.message.bytes", value: MAX_MESSAGE_BYTES }],
      })),
    });
    const tag = `bi${Math.floor(Math.random() * 1e6)}`;
    const bad = badRecords(tag);
    const tricky = trickyValid(tag);
    assert.ok(bad.length >= 40, `${bad.length} kinds of bad record`);

    // offset → what was sent there (one partition: offsets are the send order)
    const sent: { key: string; value: Uint8Array | string | null; bad?: (typeof bad)[number] }[] =
      [];
    const valid = new Set<string>();
    bad.forEach((b, i) => {
      const id = `${tag}-v${i}`;
      valid.add(id);
      sent.push({ key: id, value: JSON.stringify(order(id)) });
      sent.push({ key: `bad-${i}`, value: b.value, bad: b });
    });
    for (const t of tricky) {
      valid.add(t.id);
      sent.push({ key: t.id, value: t.value });
    }
    const producer = plaintextKafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (let i = 0; i < sent.length; i += 20) {
        await producer.send({
          topic: s.topic,
          acks: -1,
          messages: sent.slice(i, i + 20).map((m) => ({
            key: m.key,
            value: m.value === null
              ? null
              : typeof m.value === "string"
              ? m.value
              : Buffer.from(m.value),
          })),
        });
      }
    } finally {
      await producer.disconnect();
    }

    proc = new ConsumerProcess(plaintextEnv(consumerEnv(s, { HTTP_PORT: "0" })), [
      "--summary-interval",
      "1000",
    ]);
    await until(
      "every record stored or dead-lettered",
      async () => {
        const c = await committed(s.group, s.topic);
        return c.get(0) === BigInt(sent.length);
      },
      90_000,
    );
    assert.equal(proc.child.pid > 0, true);
    const exited = await Promise.race([
      proc.child.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
    ]);
    assert.equal(exited, false, "the consumer is still running after the corpus");

    const stored = await storedLocal(s.dir);
    assert.deepEqual([...stored.keys()].sort(), [...valid].sort(), "stored == valid neighbours");
    const kiosk = stored.get(`${tag}-kiosk`)!.body;
    assert.equal(kiosk.channel, "kiosk");
    assert.equal(kiosk.risk_score, 0.3, "unknown channel scored by the fallback (0.3)");

    const dlq = await readDlq(s.dlq);
    const bySource = new Map(dlq.map((r) => [Number(r.headers["dlq.source.offset"]), r]));
    const problems: string[] = [];
    for (const [offset, m] of sent.entries()) {
      if (m.bad === undefined) {
        if (bySource.has(offset)) problems.push(`valid ${m.key} at ${offset} was dead-lettered`);
        continue;
      }
      const r = bySource.get(offset);
      if (r === undefined) {
        problems.push(`${m.bad.name}: not in the DLQ`);
        continue;
      }
      if (r.headers["dlq.reason"] !== m.bad.reason) {
        problems.push(`${m.bad.name}: reason ${r.headers["dlq.reason"]}, expected ${m.bad.reason}`);
      }
      if (r.headers["dlq.source.topic"] !== s.topic) problems.push(`${m.bad.name}: source topic`);
      if (r.headers["dlq.source.partition"] !== "0") problems.push(`${m.bad.name}: partition`);
      if (r.key !== m.key) problems.push(`${m.bad.name}: key ${r.key}`);
      const original = m.value === null
        ? null
        : typeof m.value === "string"
        ? new TextEncoder().encode(m.value)
        : m.value;
      const got = r.value === null ? null : new Uint8Array(r.value);
      if (m.bad.reason === "oversized" && original !== null) {
        // DLQ copies are cut to DLQ_MAX_VALUE_BYTES (consumer/dlq.ts); the source keeps the rest
        const cut = original.subarray(0, DLQ_MAX_VALUE_BYTES);
        if (got === null || !Buffer.from(got).equals(Buffer.from(cut))) {
          problems.push(`${m.bad.name}: DLQ value is not the first ${cut.length} original bytes`);
        }
        if (r.headers["dlq.truncated"] !== "true") problems.push(`${m.bad.name}: dlq.truncated`);
        if (r.headers["dlq.original.bytes"] !== String(original.length)) {
          problems.push(`${m.bad.name}: dlq.original.bytes ${r.headers["dlq.original.bytes"]}`);
        }
        continue;
      }
      // a tombstone and an empty value both come back as "no bytes"
      const same = (original === null || original.length === 0)
        ? got === null || got.length === 0
        : got !== null && Buffer.from(got).equals(Buffer.from(original));
      if (!same) problems.push(`${m.bad.name}: DLQ value differs from the original bytes`);
    }
    assert.deepEqual(problems, []);
    assert.equal(bySource.size, bad.length, "one DLQ record per bad one");
    const oversized = dlq.find((r) => r.headers["dlq.reason"] === "oversized");
    assert.ok(Number(oversized?.headers["dlq.original.bytes"]) > OVERSIZED_BYTES);
    assert.ok(
      Object.getPrototypeOf({}).polluted === undefined,
      "no prototype pollution in the test process",
    );

    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    assert.ok(!proc.lines.some((l) => /crash/i.test(l)), proc.lines.join("\n"));
    proc = undefined;
    console.error(
      `  ${bad.length} bad kinds dead-lettered (reasons: ${
        JSON.stringify(Object.fromEntries(
          Object.entries(Object.groupBy(bad, (b) => b.reason)).map(([k, v]) => [k, v!.length]),
        ))
      }), ${valid.size} valid stored`,
    );
  } finally {
    if (proc !== undefined) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already exited
      }
      await proc.exit().catch(() => undefined);
    }
    await admin.deleteTopics({ topics: [s.topic, s.dlq] }).catch((e) => console.error(e));
    await admin.disconnect();
    await Deno.remove(s.dir, { recursive: true }).catch(() => undefined);
  }
});

// An oversized record must not stall its partition when the DLQ topic refuses its full size: the
// DLQ copy is cut (headers dlq.truncated, dlq.original.bytes) — up front below the broker's default
// limit, and again to 64 KiB when the DLQ topic's max.message.bytes is smaller still.
for (const dlqLimit of [undefined, "100000"]) {
  Deno.test({
    name:
      `consumer dead-letters an oversized record the DLQ topic refuses whole (DLQ max.message.bytes ${
        dlqLimit ?? "default"
      })`,
    fn: async () => {
      const topic = uniqueName("badinput-dlqlimit");
      const s = {
        topic,
        dlq: `${topic}.dlq`,
        group: `${topic}-group`,
        dir: `./data/test/${topic}`,
      };
      const admin = plaintextKafka({ clientId: "badinput-admin" }).admin();
      await admin.connect();
      let proc: ConsumerProcess | undefined;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: [
            {
              topic: s.topic,
              numPartitions: 1,
              replicationFactor: 1,
              configEntries: [{ name: "max.message.bytes", value: MAX_MESSAGE_BYTES }],
            },
            {
              topic: s.dlq,
              numPartitions: 1,
              replicationFactor: 1,
              configEntries: dlqLimit === undefined
                ? []
                : [{ name: "max.message.bytes", value: dlqLimit }],
            },
          ],
        });
        const producer = plaintextKafka().producer({ allowAutoTopicCreation: false });
        await producer.connect();
        await producer.send({
          topic: s.topic,
          acks: -1,
          messages: [
            { key: "big", value: "x".repeat(1_500_000) },
            { key: "ok", value: JSON.stringify(order("dlqlimit-ok")) },
          ],
        });
        await producer.disconnect();
        proc = new ConsumerProcess(
          plaintextEnv(consumerEnv({ ...s, prefix: "" }, { HTTP_PORT: "0" })),
        );
        await until("both records done", async () => {
          return (await committed(s.group, s.topic)).get(0) === 2n;
        }, 30_000);
        const dlq = await readDlq(s.dlq);
        assert.equal(dlq.length, 1);
        assert.equal(dlq[0]!.headers["dlq.reason"], "oversized");
        assert.equal(dlq[0]!.headers["dlq.truncated"], "true");
        assert.equal(dlq[0]!.headers["dlq.original.bytes"], "1500000");
        assert.equal(dlq[0]!.value?.length, dlqLimit === undefined ? 900 * 1024 : 64 * 1024);
        proc.kill("SIGTERM");
        assert.equal(await proc.exit(), 0);
        proc = undefined;
      } finally {
        if (proc !== undefined) {
          proc.kill("SIGKILL");
          await proc.exit().catch(() => undefined);
        }
        await admin.deleteTopics({ topics: [s.topic, s.dlq] }).catch((e) => console.error(e));
        await admin.disconnect();
        await Deno.remove(s.dir, { recursive: true }).catch(() => undefined);
      }
    },
  });
}
