/**
 * Batched layout with --from-latest: a rebalance before the first segment seals must not remove
 * stored orders. The member commits where it started reading (not only segment boundaries), so
 * a re-read starts there again; and a writer removes only versions of the same `dt` and first
 * offset. Before both, the same member's new read (reset to the log end) removed the first
 * read's objects as "smaller": orders that were readable disappeared, and nothing re-read them.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  consumerEnv,
  ConsumerProcess,
  createTopic,
  deleteTopic,
  orderCounts,
  produce,
  scenario,
  segmentsLocal,
  until,
  validOrders,
} from "./consumer_support.ts";

Deno.test("batched layout, --from-latest: a rebalance before the first seal keeps every stored order readable", async () => {
  const s = await scenario("rt19latest", 1);
  const args = [
    "--batch-records",
    "1000",
    "--batch-max-age",
    "300",
    "--summary-interval",
    "0",
    "--from-latest",
  ];
  const envA = consumerEnv(s, {
    SINK_LAYOUT: "batched",
    HTTP_PORT: "0",
    KAFKA_CLIENT_ID: "a-rt19",
  });
  const envI = consumerEnv(s, {
    SINK_LAYOUT: "batched",
    HTTP_PORT: "0",
    KAFKA_CLIENT_ID: "zz-rt19",
    DLQ_TOPIC: `${s.topic}.other`,
  });
  await createTopic(`${s.topic}.other`, 1);
  const members: ConsumerProcess[] = [];
  try {
    const a = new ConsumerProcess(envA, args);
    members.push(a);
    await a.waitFor(/joined group/, 60_000);
    await new Promise((r) => setTimeout(r, 1500)); // A's fetch position is the (empty) log end
    await produce(s.topic, validOrders("l", 60));
    await until("A stores the first 60 orders (tail)", async () => {
      return orderCounts(await segmentsLocal(s.dir)).size >= 60;
    }, 30_000);
    const idle = new ConsumerProcess(envI, args);
    members.push(idle);
    await idle.waitFor(/joined group/, 60_000);
    await until("A re-joined", () => a.lines.filter((l) => /joined group/.test(l)).length >= 2);
    assert.match(a.lines.filter((l) => /joined group/.test(l)).at(-1)!, /partitions \[0\]/);
    await new Promise((r) => setTimeout(r, 1500));
    await produce(s.topic, validOrders("l", 60, 60));
    await until("A stores the next orders", async () => {
      const c = orderCounts(await segmentsLocal(s.dir));
      return c.has("l-119");
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    const c = orderCounts(await segmentsLocal(s.dir));
    const gone = validOrders("l", 60).map((m) => m.key!).filter((id) => !c.has(id));
    console.error(
      `  files: ${
        [...Deno.readDirSync(`${s.dir}/orders/dt=2026-11-01/part=0`)].map((e) => e.name).join(" ")
      }`,
    );
    assert.deepEqual(gone, [], "orders stored by the first read removed by the second");
  } finally {
    for (const m of members) {
      try {
        m.kill("SIGKILL");
      } catch {
        // exited
      }
    }
    for (const m of members) await m.exit().catch(() => undefined);
    await deleteTopic(`${s.topic}.other`).catch(() => undefined);
    await cleanup(s);
  }
});
