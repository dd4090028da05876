/**
 * Fault: the S3 server process stops for 20 s mid-stream — longer than the consumer's 6 s session
 * timeout — while the producer CLI is producing. The server is a private `dev/s3.sh` instance
 * (own state dir and ports), so stopping it touches no other test. Both layouts (per-order and
 * batched). During the outage no offset is committed past a record that is not stored; the
 * consumer keeps heartbeating (one group join: a member that stopped heartbeating would be
 * evicted after 6 s and join again), resumes within 5 s of the server's return, and loses nothing.
 * CI: ~20 s stream; `SOAK=1`: ~50 s stream, same 20 s outage.
 */
import { parseSegmentKey, readableSegments } from "../consumer/sinks/segment_key.ts";
import assert from "node:assert/strict";
import { cleanup, committed, consumerEnv, ConsumerProcess, scenario } from "./consumer_support.ts";
import {
  plaintextEnv,
  ProducerProcess,
  reconcile,
  sized,
  sleep,
  sprinkleBad,
} from "./fault_support.ts";
import { PrivateS3 } from "./s3_support.ts";

const OUTAGE_MS = 20_000;

type Layout = "per-order" | "batched";

/**
 * Order IDs in the bucket, read from S3Proxy's files (what is durable, readable while the server
 * is down). Checks each object's contents: valid JSON whose orderId matches its key (per-order),
 * or NDJSON lines of orders (batched). `strict` off skips a segment line still being written.
 */
async function storedOnDisk(
  s3: PrivateS3,
  bucket: string,
  layout: Layout,
  strict: boolean,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const root = `${s3.dir}/data/${bucket}/orders`;
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const e of entries) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else files.push(`${dir}/${e.name}`);
    }
  };
  await walk(root);
  // Batched: only the versions the layout's read rule selects (smaller ones are skipped).
  const base = `${s3.dir}/data/${bucket}/`;
  const readable = new Set(
    readableSegments(files.map((f) => f.slice(base.length))).map((n) => base + n.key),
  );
  for (const file of files) {
    const name = file.slice(file.lastIndexOf("/") + 1);
    // S3Proxy's filesystem backend writes `<name>-<uuid>` and renames it into place; stopping the
    // server mid-PUT leaves that file behind. It is the server's, not an object the consumer
    // stored (the PUT never succeeded, so the consumer wrote the order again).
    if (/-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(name)) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      // S3Proxy writes `<name>-<uuid>` and renames it: gone by now.
      if (!strict && error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (layout === "per-order") {
      const m = /^orderId=(.+)\.json$/.exec(name);
      if (m === null) {
        if (strict) assert.fail(`unexpected object ${file}`);
        continue;
      }
      let body: { orderId?: unknown };
      try {
        body = JSON.parse(text);
      } catch (error) {
        if (strict) throw new SyntaxError(`${file} is not valid JSON`, { cause: error });
        continue;
      }
      assert.equal(body.orderId, m[1], `${file} holds the order its key names`);
      out.set(m[1]!, (out.get(m[1]!) ?? 0) + 1);
    } else {
      if (parseSegmentKey(file.slice(base.length)) === undefined) {
        if (strict) assert.fail(`unexpected object ${file}`);
        continue;
      }
      if (!readable.has(file)) continue;
      for (const line of text.split("\n")) {
        if (line === "") continue;
        let order: { orderId?: unknown };
        try {
          order = JSON.parse(line);
        } catch (error) {
          if (strict) throw new SyntaxError(`${file}: a line is not valid JSON`, { cause: error });
          continue;
        }
        const id = String(order.orderId);
        out.set(id, (out.get(id) ?? 0) + 1);
      }
    }
  }
  return out;
}

async function outage(layout: Layout): Promise<void> {
  const count = sized(4_000, 20_000);
  const rate = sized(200, 400); // stream ~20 s (CI) / ~50 s (soak): the outage lands in it
  const s3 = await PrivateS3.start();
  const s = await scenario(`fault-s3-${layout}`, 3);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  let proc: ConsumerProcess | undefined;
  let producer: ProducerProcess | undefined;
  try {
    await s3.createBucket(bucket);
    const bad = await sprinkleBad(s.topic, "s3");
    proc = new ConsumerProcess(
      plaintextEnv(consumerEnv(s, {
        ...s3.hmacEnv(bucket),
        SINK_LAYOUT: layout,
        CONSUMER_SESSION_TIMEOUT_MS: "6000",
      })),
      [
        "--from-beginning",
        "--summary-interval",
        "1000",
        ...(layout === "batched" ? ["--batch-records", "200", "--batch-max-age", "500"] : []),
      ],
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
    const t0 = Date.now();
    const sum = (m: Map<number, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);
    while (sum(await committed(s.group, s.topic)) < 600n) {
      if (Date.now() - t0 > 60_000) assert.fail("600 offsets not committed within 60 s");
      await sleep(250);
    }

    // Outage: the S3Proxy process stops. Snapshot (committed offsets, then the stored files)
    // every second; checked below against the producer's per-record partition/offset.
    await s3.down();
    const downAt = Date.now();
    const snapshots: { committed: Map<number, bigint>; stored: Set<string> }[] = [];
    while (Date.now() - downAt < OUTAGE_MS) {
      const c = await committed(s.group, s.topic);
      snapshots.push({
        committed: c,
        stored: new Set((await storedOnDisk(s3, bucket, layout, false)).keys()),
      });
      await sleep(1000);
    }
    const storedAtReturn = (await storedOnDisk(s3, bucket, layout, false)).size;
    // The server is back when S3Proxy answers (dev/s3.sh then still starts the IAM processes).
    const answering = (async () => {
      for (;;) {
        try {
          await (await fetch(s3.env.COS_ENDPOINT!)).body?.cancel();
          return Date.now();
        } catch {
          await sleep(50);
        }
      }
    })();
    await s3.up();
    const upAt = await answering;
    while ((await storedOnDisk(s3, bucket, layout, false)).size <= storedAtReturn) {
      if (Date.now() - upAt > 30_000) assert.fail("nothing stored within 30 s of the return");
      await sleep(100);
    }
    const recoveryMs = Date.now() - upAt;

    const run = await producer.result();
    producer = undefined;
    assert.equal(run.code, 0, run.stderr);
    const acked = run.deliveries.filter((d) => d.status === "acked");
    assert.equal(acked.length, count);
    const valid = new Set(acked.map((d) => d.key!));
    const t1 = Date.now();
    while ((await storedOnDisk(s3, bucket, layout, false)).size < count) {
      if (Date.now() - t1 > sized(120_000, 300_000)) assert.fail("not every order stored");
      await sleep(1000);
    }

    // No commit past an unstored record, at any snapshot of the outage.
    let checked = 0;
    for (const snap of snapshots) {
      for (const d of acked) {
        const c = snap.committed.get(d.partition!) ?? -1n;
        if (BigInt(d.offset!) < c) {
          checked++;
          assert.ok(
            snap.stored.has(d.key!),
            `offset ${d.partition}/${d.offset} (${d.key}) committed but not stored`,
          );
        }
      }
    }
    assert.ok(checked > 0, "the snapshots covered committed records");

    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const joins = proc.lines.filter((l) => /joined group/.test(l)).length;
    assert.equal(joins, 1, "one group join: no rebalance during the outage");
    assert.ok(proc.lines.some((l) => /paused:/.test(l)), "the consumer paused");
    assert.ok(proc.lines.some((l) => /resumed after/.test(l)), "the consumer says it resumed");
    proc = undefined;
    const stored = await storedOnDisk(s3, bucket, layout, true);
    if (layout === "batched") {
      const twice = [...stored].filter(([, n]) => n > 1).map(([id]) => id);
      assert.deepEqual(twice.slice(0, 10), [], `${twice.length} orders stored twice`);
    }
    const result = await reconcile(s, valid, bad, new Set(stored.keys()));
    console.error(
      `  ${layout}: outage ${OUTAGE_MS} ms, ${snapshots.length} snapshots, ${checked} ` +
        `committed-record checks, recovery ${recoveryMs} ms, ${JSON.stringify(result)}`,
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
      try {
        producer.child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await producer.result().catch(() => undefined);
    }
    await cleanup(s);
    await s3.destroy();
  }
}

Deno.test("S3 server down 20 s (> session timeout), per-order layout: no commit past an unstored record, no rebalance, resumed within 5 s", async () => {
  await outage("per-order");
});

Deno.test("S3 server down 20 s (> session timeout), batched layout: no commit past an unstored record, no rebalance, resumed within 5 s", async () => {
  await outage("batched");
});
