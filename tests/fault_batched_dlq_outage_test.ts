/**
 * Batched layout, DLQ outage mid-segment: a commit must never land inside a written segment.
 *
 * 1. the chunk holding the whole segment [0, N) has an invalid record X in the middle; the DLQ
 *    publish fails, so X is marked failed while the other records are appended;
 * 2. the segment is sealed in the same chunk and written (names start at offsets 0, 1, 2 — one
 *    per dt); its offsets are done except X, so the done prefix ends at X, inside the segment;
 * 3. the member stops while the DLQ is still down;
 * 4. the next owner re-reads from the commit. Had the commit been X, it would name its objects
 *    from first offsets just past X: new `(dt, part, first)` groups the read rule reads beside
 *    the complete objects of step 2, every order after X read twice. Commits land on segment
 *    boundaries (or where the member started reading), so it re-reads from 0 and rewrites the
 *    same names.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  createTopic,
  deleteTopic,
  type Msg,
  orderCounts,
  produce,
  readDlq,
  scenario,
  segmentsLocal,
  until,
  validOrders,
} from "./consumer_support.ts";

Deno.test("batched layout: a DLQ outage mid-segment never moves the commit inside a written segment (no order read twice after a takeover)", async () => {
  const s = await scenario("rt19dlq", 1);
  const N = 200;
  const X = 50;
  const args = ["--batch-records", String(N), "--batch-max-age", "300", "--summary-interval", "0"];
  const env = consumerEnv(s, { SINK_LAYOUT: "batched", HTTP_PORT: "0" });
  try {
    const a = new ConsumerProcess(env, args);
    await a.waitFor(/joined group/, 60_000);
    await deleteTopic(s.dlq); // the DLQ is down (deleted; auto-creation is off)
    const good = validOrders("q", N - 1);
    const msgs: Msg[] = [
      ...good.slice(0, X),
      { key: "bad-x", value: "{not json" },
      ...good.slice(X),
    ];
    await produce(s.topic, msgs);
    await a.waitFor(/cannot publish 1 record\(s\) to the DLQ/, 90_000);
    await until(
      "A wrote the sealed segment",
      async () => orderCounts(await segmentsLocal(s.dir)).size === N - 1,
      30_000,
      250,
    );
    await new Promise((r) => setTimeout(r, 2000)); // A's commits after the write, if any
    const c = (await committed(s.group, s.topic)).get(0) ?? -1n;
    assert.ok(c <= 0n, `A committed ${c}, inside the written segment [0, ${N})`);
    const before = await segmentsLocal(s.dir);
    assert.equal(orderCounts(before).size, N - 1, "A stored every valid order of the segment");
    a.kill("SIGTERM");
    await a.exit();
    await createTopic(s.dlq, 1); // the DLQ is back
    const b = new ConsumerProcess(env, [...args, "--until-idle", "3000"]);
    assert.equal(await b.exit(), 0, b.lines.join("\n"));
    assert.equal((await committed(s.group, s.topic)).get(0), BigInt(N), "B committed the segment");
    assert.equal((await readDlq(s.dlq)).length, 1, "X dead-lettered once");
    const segs = await segmentsLocal(s.dir);
    console.error(`  readable objects:\n    ${[...segs.keys()].join("\n    ")}`);
    const twice = [...orderCounts(segs)].filter(([, c]) => c > 1).length;
    assert.equal(twice, 0, `${twice} orders read twice under the read rule`);
  } finally {
    await cleanup(s);
  }
});
