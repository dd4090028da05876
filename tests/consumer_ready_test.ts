/**
 * Start-up readiness of `consumer/main.ts` on the real broker: `/readyz` answers 503 until the
 * consumer can store at full speed (group joined, first fetch answered, scorers warmed, sink
 * probed), 200 from then on, and one "consumer: ready" line says so.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  consumerEnv,
  ConsumerProcess,
  countLocal,
  produce,
  scenario,
  uniqueName,
  until,
  validOrders,
} from "./consumer_support.ts";
import { logLevel } from "kafkajs";
import { plaintextKafka } from "./_infra.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function readyz(port: number): Promise<{ status: number; reason?: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, {
      signal: AbortSignal.timeout(2000),
    });
    const body = await res.json() as { reason?: string };
    return { status: res.status, ...body.reason === undefined ? {} : { reason: body.reason } };
  } catch {
    return undefined; // not listening (yet)
  }
}

async function stop(proc: ConsumerProcess | undefined): Promise<void> {
  if (proc === undefined) return;
  try {
    proc.kill("SIGKILL");
  } catch {
    // already exited
  }
  await proc.exit().catch(() => undefined);
}

const readyLines = (proc: ConsumerProcess) => proc.lines.filter((l) => /^consumer: ready /.test(l));

Deno.test("consume: /readyz stays 503 after the join until the sink probe succeeds, then 200 with one ready line", async () => {
  const s = await scenario("ready-sink", 1);
  const port = freePort();
  // The sink directory lies under a regular file: mkdir fails (ENOTDIR, also for root) until
  // the test removes the file.
  const blocker = `./data/test/${uniqueName("ready-blocker")}`;
  await Deno.mkdir("./data/test", { recursive: true });
  await Deno.writeTextFile(blocker, "not a directory");
  let proc: ConsumerProcess | undefined;
  try {
    proc = new ConsumerProcess(
      consumerEnv(s, {
        SINK_DIR: `${blocker}/sink`,
        HTTP_HOST: "127.0.0.1",
        HTTP_PORT: String(port),
      }),
      ["--summary-interval", "0"],
    );
    await proc.waitFor(/joined group/, 30_000);
    // Joined and fetching, but the sink never answered: not ready, and it says why.
    await until("the first fetch after the join", async () => {
      const r = await readyz(port);
      return r?.status === 503 && /starting: waiting for sink probe$/.test(r.reason ?? "");
    }, 10_000);
    assert.deepEqual(readyLines(proc), [], proc.lines.join("\n"));

    await Deno.remove(blocker);
    await until("/readyz 200", async () => (await readyz(port))?.status === 200, 15_000);
    const [line, ...more] = readyLines(proc);
    assert.deepEqual(more, [], proc.lines.join("\n"));
    assert.match(line ?? "", /scorers warmed \(mobile,partner,web\)/);
    assert.ok(!proc.lines.some((l) => /warm-up/.test(l)), "every warm-up order was scored");
    assert.match(line ?? "", /sink probed \(after \d+ retries\)/);
    assert.match(line ?? "", /partitions \[0\]\), first fetch issued/);

    // Ready means storing: an order produced now is stored, and no second ready line appears.
    await produce(s.topic, validOrders("r", 1));
    await until("the order is stored", () => countLocal(`${blocker}/sink`) === 1, 15_000);
    assert.equal(readyLines(proc).length, 1);
    proc.kill("SIGTERM");
    assert.equal(await proc.exit(20_000), 0, proc.lines.join("\n"));
    proc = undefined;
  } finally {
    await stop(proc);
    await Deno.remove(blocker, { recursive: true }).catch(() => undefined);
    await cleanup(s);
  }
});

Deno.test("consume: /readyz stays 503 while the broker is reachable but the group has not assigned partitions", async () => {
  const s = await scenario("ready-join", 1);
  const port = freePort();
  // A member that takes the partition and then blocks in its batch handler: it neither
  // heartbeats nor rejoins, so the coordinator holds a newcomer's join for the old member's
  // rebalance timeout.
  const holder = plaintextKafka({ clientId: "ctest-ready-holder", logLevel: logLevel.NOTHING })
    .consumer({
      groupId: s.group,
      sessionTimeout: 6000,
      rebalanceTimeout: 6000,
      heartbeatInterval: 500,
    });
  const release = Promise.withResolvers<void>();
  const holding = Promise.withResolvers<void>();
  let proc: ConsumerProcess | undefined;
  try {
    await holder.connect();
    await holder.subscribe({ topics: [s.topic], fromBeginning: true });
    await holder.run({
      eachBatch: async () => {
        holding.resolve();
        await release.promise;
      },
    });
    await produce(s.topic, validOrders("held", 1));
    await holding.promise;

    proc = new ConsumerProcess(
      consumerEnv(s, { HTTP_HOST: "127.0.0.1", HTTP_PORT: String(port) }),
      ["--summary-interval", "0"],
    );
    // Reachable: the consumer connected and sent its join (the broker answers the rest later).
    await until("/readyz answers", async () => (await readyz(port)) !== undefined, 30_000);
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      const r = await readyz(port);
      assert.equal(r?.status, 503, JSON.stringify(r));
      assert.match(r?.reason ?? "", /not joined|starting/);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(!proc.lines.some((l) => /joined group/.test(l)), proc.lines.join("\n"));
    assert.deepEqual(readyLines(proc), []);

    // The old member is dropped after its rebalance timeout; the newcomer gets the partition.
    await proc.waitFor(/^consumer: ready /, 30_000);
    await until("/readyz 200", async () => (await readyz(port))?.status === 200, 10_000);
    assert.equal(readyLines(proc).length, 1);
    proc.kill("SIGTERM");
    assert.equal(await proc.exit(20_000), 0, proc.lines.join("\n"));
    proc = undefined;
  } finally {
    release.resolve();
    await stop(proc);
    await holder.disconnect().catch(() => undefined);
    await cleanup(s);
  }
});

Deno.test("consume: a member assigned no partition still becomes ready (first fetch, not first data)", async () => {
  const s = await scenario("ready-idle", 1);
  const port = freePort();
  // kafkajs' round-robin assigner hands partitions out in member-id order and member ids start
  // with the client id: this member ("aaa-...") keeps the one partition, the consumer
  // ("orderflow-consumer-...") joins with none.
  const holder = plaintextKafka({ clientId: "aaa-ctest-ready-holder", logLevel: logLevel.NOTHING })
    .consumer({
      groupId: s.group,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
    });
  let proc: ConsumerProcess | undefined;
  try {
    await holder.connect();
    await holder.subscribe({ topics: [s.topic], fromBeginning: true });
    await holder.run({ eachBatch: () => Promise.resolve() });
    proc = new ConsumerProcess(
      consumerEnv(s, { HTTP_HOST: "127.0.0.1", HTTP_PORT: String(port) }),
      ["--summary-interval", "0"],
    );
    const line = await proc.waitFor(/^consumer: ready /, 30_000);
    assert.match(line, /partitions \[\]\), first fetch issued/);
    await until("/readyz 200", async () => (await readyz(port))?.status === 200, 10_000);
    assert.equal(readyLines(proc).length, 1);
    proc.kill("SIGTERM");
    assert.equal(await proc.exit(20_000), 0, proc.lines.join("\n"));
    proc = undefined;
  } finally {
    await stop(proc);
    await holder.disconnect().catch(() => undefined);
    await cleanup(s);
  }
});
