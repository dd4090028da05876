/**
 * Fault: the broker restarts (`dev/kafka.sh stop` + `start`) while the producer CLI is producing.
 * Runs a second, private broker (own state dir and ports, small heap) so the shared broker on
 * 9092 is never touched. Checks the producer's accounting (acked + failed = sent), that every
 * acked record is in the topic at the partition/offset it was acked with, and that the failed
 * ones, retried, arrive too: nothing lost silently.
 */
import assert from "node:assert/strict";
import { orderJson, uniqueName } from "./consumer_support.ts";
import { ProducerProcess, sized, sleep } from "./fault_support.ts";

const PORTS = { plaintext: 19192, sasl: 19193, controller: 19194 };

function brokerEnv(dir: string): Record<string, string> {
  return {
    KAFKA_RUN_DIR: dir,
    KAFKA_PLAINTEXT_PORT: String(PORTS.plaintext),
    KAFKA_SASL_PORT: String(PORTS.sasl),
    KAFKA_CONTROLLER_PORT: String(PORTS.controller),
    KAFKA_HEAP_OPTS: "-Xmx384M -Xms384M",
  };
}

async function kafkaSh(dir: string, command: "start" | "stop"): Promise<number> {
  const started = Date.now();
  const out = await new Deno.Command("bash", {
    args: ["dev/kafka.sh", command],
    env: brokerEnv(dir),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `dev/kafka.sh ${command} failed:\n${text}`);
  return Date.now() - started;
}

/**
 * Every record of `topic` on the private broker: "partition/offset" → key. Read with Kafka's own
 * console consumer (a kafkajs group on the freshly restarted broker did not get assignments).
 */
async function readTopic(dir: string, topic: string): Promise<Map<string, string>> {
  const out = await new Deno.Command("bash", {
    args: [
      "dev/kafka.sh",
      "tool",
      "org.apache.kafka.tools.consumer.ConsoleConsumer",
      "--bootstrap-server",
      `localhost:${PORTS.plaintext}`,
      "--topic",
      topic,
      "--from-beginning",
      "--timeout-ms",
      "15000",
      "--property",
      "print.partition=true",
      "--property",
      "print.offset=true",
      "--property",
      "print.key=true",
      "--property",
      "print.value=false",
    ],
    env: brokerEnv(dir),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const records = new Map<string, string>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^Partition:(\d+)\tOffset:(\d+)\t(.*)$/.exec(line);
    if (m !== null) records.set(`${m[1]}/${m[2]}`, m[3]!);
  }
  if (records.size === 0) {
    throw new RangeError(
      `Cannot read ${topic}: the console consumer printed nothing\n` +
        new TextDecoder().decode(out.stderr).slice(-2000),
    );
  }
  return records;
}

Deno.test("producer loses nothing silently when the broker restarts mid-run", async () => {
  const count = sized(10_000, 100_000);
  const rate = sized(1_000, 3_000);
  const dir = `.run/${uniqueName("fault-broker")}`;
  const input = `./data/test/${uniqueName("fault-broker")}.jsonl`;
  await Deno.mkdir("./data/test", { recursive: true });
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify(orderJson(`br-${i}`, i)));
  await Deno.writeTextFile(input, lines.join("\n") + "\n");
  const env = {
    KAFKA_BROKERS: `localhost:${PORTS.plaintext}`,
    KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
  };
  let producer: ProducerProcess | undefined;
  try {
    const firstStart = await kafkaSh(dir, "start");
    producer = new ProducerProcess(env, [
      "--topic",
      "orders",
      "--file",
      input,
      "--rate",
      String(rate),
      // few retries, so sends during the restart fail and the failed-then-retried path runs
      "--retries",
      "1",
      "--timeout",
      "10",
    ]);
    await sleep(sized(3_000, 10_000));
    const stopMs = await kafkaSh(dir, "stop");
    const startMs = await kafkaSh(dir, "start");
    const run = await producer.result();
    producer = undefined;

    const acked = run.deliveries.filter((d) => d.status === "acked");
    const failed = run.deliveries.filter((d) => d.status === "failed");
    const summary = run.summary as { sent: number; acked: number; failed: number };
    // On a failed delivery the producer stops reading input (and says so): sent <= count.
    assert.ok(summary.sent <= count && summary.sent > 0, run.stderr);
    if (summary.sent < count) {
      assert.match(run.stderr, /delivery failed, stopping input/);
      assert.ok(summary.failed > 0, "input stops early only after a failure");
    }
    assert.equal(summary.acked + summary.failed, summary.sent, "acked + failed = sent");
    assert.equal(acked.length, summary.acked);
    assert.equal(failed.length, summary.failed);
    assert.equal(run.code, failed.length === 0 ? 0 : 1, "exit 1 when something failed");
    for (const f of failed) assert.ok(f.key !== null && typeof f.error === "string");

    // Retry what was not acked (failed, or never sent), with the broker up.
    let retried = 0;
    const ackedKeys = new Set(acked.map((d) => d.key!));
    if (ackedKeys.size < count) {
      const again = new Set(lines.map((_, i) => `br-${i}`).filter((k) => !ackedKeys.has(k)));
      const retryFile = `${input}.retry`;
      await Deno.writeTextFile(
        retryFile,
        lines.filter((_, i) => again.has(`br-${i}`)).join("\n") + "\n",
      );
      const retry = await new ProducerProcess(env, ["--topic", "orders", "--file", retryFile])
        .result();
      assert.equal(retry.code, 0, retry.stderr);
      retried = retry.deliveries.filter((d) => d.status === "acked").length;
      assert.equal(retried, again.size);
      acked.push(...retry.deliveries);
      await Deno.remove(retryFile);
    }

    const topic = await readTopic(dir, "orders");
    const lost = acked.filter((d) => topic.get(`${d.partition}/${d.offset}`) !== d.key);
    if (lost.length > 0) {
      const byPartition = new Map<number, number>();
      for (const d of lost) byPartition.set(d.partition!, (byPartition.get(d.partition!) ?? 0) + 1);
      console.error(
        `  ${lost.length} acked record(s) not found (topic has ${topic.size}); by partition ` +
          `${JSON.stringify([...byPartition])}; first ${JSON.stringify(lost.slice(0, 3))}; ` +
          `restart: stop ${stopMs} ms, start ${startMs} ms`,
      );
    }
    for (const d of acked) {
      assert.equal(
        topic.get(`${d.partition}/${d.offset}`),
        d.key,
        `acked ${d.key} at ${d.partition}/${d.offset} is in the topic`,
      );
    }
    const keys = new Set(topic.values());
    const missing = lines.map((_, i) => `br-${i}`).filter((k) => !keys.has(k));
    assert.deepEqual(missing, [], "every order is in the topic after retrying the failed ones");
    console.error(
      `  broker start ${firstStart} ms, restart: stop ${stopMs} ms + start ${startMs} ms; ` +
        `sent ${summary.sent}/${count}, acked ${summary.acked}, failed ${summary.failed}, ` +
        `retried ${retried}; ` +
        `topic holds ${topic.size} records (${topic.size - keys.size} duplicates)`,
    );
  } finally {
    if (producer !== undefined) {
      producer.child.kill("SIGKILL");
      await producer.result().catch(() => undefined);
    }
    await kafkaSh(dir, "stop").catch((e) => console.error(`cleanup: ${e}`));
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
    await Deno.remove(input).catch(() => undefined);
  }
});
