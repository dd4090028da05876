/**
 * Where a new consumer group starts, through `consumer/main.ts` on the real broker: by default at
 * the earliest offset (records produced before the first start are not lost); `--from-latest`
 * opts into skipping them.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  countLocal,
  produce,
  scenario,
  storedLocal,
  uniqueName,
  until,
  validOrders,
} from "./consumer_support.ts";

Deno.test("consume without flags stores records produced before a new group's first start", async () => {
  const s = await scenario("earliest", 3);
  try {
    const n = 300;
    const produced = validOrders("e", n);
    await produce(s.topic, produced);
    const proc = new ConsumerProcess(consumerEnv(s), [
      "--max-records",
      String(n),
      "--summary-interval",
      "0",
    ]);
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const stored = await storedLocal(s.dir);
    assert.deepEqual([...stored.keys()].sort(), produced.map((m) => m.key!).sort());
    const offsets = await committed(s.group, s.topic);
    assert.equal([...offsets.values()].reduce((a, b) => a + b, 0n), BigInt(n));
  } finally {
    await cleanup(s);
  }
});

Deno.test("consume --from-latest skips records produced before a new group's first start", async () => {
  const s = await scenario("latest", 1);
  let proc: ConsumerProcess | undefined;
  try {
    await produce(s.topic, validOrders("before", 50));
    proc = new ConsumerProcess(consumerEnv(s), ["--from-latest", "--summary-interval", "0"]);
    await proc.waitFor(/joined group/, 60_000);
    // The end offset is resolved at the first fetch after the join: keep producing until one
    // "after" record is stored, so the test does not depend on that moment.
    let i = 0;
    await until("an order produced after the start is stored", async () => {
      await produce(s.topic, validOrders("after", 1, i++));
      return countLocal(s.dir) > 0;
    }, 30_000);
    await until("every order produced after the start is stored", () => countLocal(s.dir) === i);
    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    proc = undefined;
    const stored = [...(await storedLocal(s.dir)).keys()];
    assert.equal(stored.filter((k) => k.startsWith("before-")).length, 0, "skipped the backlog");
    assert.ok(stored.length >= 1 && stored.every((k) => k.startsWith("after-")));
    // The commit moved past the backlog too.
    assert.equal((await committed(s.group, s.topic)).get(0), BigInt(50 + i));
  } finally {
    if (proc !== undefined) {
      proc.kill("SIGKILL");
      await proc.exit().catch(() => undefined);
    }
    await cleanup(s);
  }
});

Deno.test("consume rejects --from-latest with --from-beginning (exit 2)", async () => {
  const proc = new ConsumerProcess({}, ["--from-latest", "--from-beginning"]);
  assert.equal(await proc.exit(), 2);
  assert.ok(proc.lines.some((l) => /Cannot use --from-latest with --from-beginning/.test(l)));
});

/** Start-up failures: one clear message with a remedy, the given exit code, no stack trace. */
async function assertStartFailure(
  env: Record<string, string>,
  code: number,
  message: RegExp,
): Promise<void> {
  const proc = new ConsumerProcess({ HTTP_PORT: "0", SINK_DIR: "./data/test/start-fail", ...env }, [
    "--summary-interval",
    "0",
  ]);
  const exit = await proc.exit(120_000);
  const out = proc.lines.join("\n");
  assert.equal(exit, code, out);
  assert.match(out, message);
  assert.ok(!proc.lines.some((l) => /^\s+at /.test(l)), `no stack trace:\n${out}`);
}

Deno.test("consume exits 1 with the cause and a remedy when the broker is down", async () => {
  await assertStartFailure(
    { KAFKA_BROKERS: "127.0.0.1:1" },
    1,
    /Cannot start the consumer: .*ECONNREFUSED[^\n]*\n.+/,
  );
});

Deno.test("consume exits 1 naming the topic when ORDERS_TOPIC does not exist", async () => {
  const topic = uniqueName("ctest-missing");
  await assertStartFailure(
    { ORDERS_TOPIC: topic, DLQ_TOPIC: "orders.dlq" },
    1,
    new RegExp(`Cannot consume: topic ${topic} does not exist[^\\n]*\\n.+`),
  );
});

Deno.test("consume exits 2 with the manifest problem when the plugins manifest is broken", async () => {
  const dir = `./data/test/${uniqueName("ctest-plugins")}`;
  await Deno.mkdir(dir, { recursive: true });
  try {
    await Deno.writeTextFile(`${dir}/manifest.json`, "{bad");
    await assertStartFailure(
      { PLUGINS_DIR: dir },
      2,
      /Cannot load the scoring plugins[^\n]*manifest[^\n]*\n.+/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
