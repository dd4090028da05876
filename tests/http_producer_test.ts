/** `deno task produce --metrics-port`: Prometheus counters and ack latency during a real run. */
import assert from "node:assert/strict";
import { createTopic, deleteTopic, uniqueName } from "./_infra.ts";
import {
  checkHistogram,
  type Family,
  freePort,
  getText,
  parsePrometheus,
  valueOf,
} from "./http_support.ts";

Deno.test("produce --metrics-port serves sent/acked/failed counters and ack latency", async () => {
  const topic = uniqueName("ptest-metrics");
  await createTopic(topic, 3);
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-P=produce",
      "producer/main.ts",
      "--topic",
      topic,
      "--rate",
      "300",
      "--duration",
      "5",
      "--metrics-port",
      String(port),
      "--json",
    ],
    env: { KAFKA_BROKERS: "localhost:9092", KAFKA_SECURITY_PROTOCOL: "PLAINTEXT" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  try {
    const scrapes = new Map<string, Map<string, Family>>();
    const deadline = Date.now() + 20_000;
    while (scrapes.size < 2 && Date.now() < deadline) {
      const r = await getText(`http://127.0.0.1:${port}/metrics`);
      if (r.status === 200) {
        const f = parsePrometheus(r.body);
        const acked = valueOf(f, "orderflow_producer_records_acked_total")!;
        if (acked > 0 && (scrapes.size === 0 || acked > [...scrapes.keys()].map(Number)[0]!)) {
          scrapes.set(String(acked), f);
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(scrapes.size, 2, "two scrapes with growing acks while the run lasted");
    const [first, second] = [...scrapes.values()];
    for (const f of [first!, second!]) {
      const sent = valueOf(f, "orderflow_producer_records_sent_total")!;
      const acked = valueOf(f, "orderflow_producer_records_acked_total")!;
      assert.ok(sent >= acked, "sent >= acked");
      assert.equal(valueOf(f, "orderflow_producer_records_failed_total"), 0);
      const h = checkHistogram(f.get("orderflow_producer_ack_latency_seconds")!);
      assert.equal(h.count, acked, "one latency observation per ack");
      assert.ok(h.sum / h.count < 10, "seconds, not ms");
    }
    const out = await output;
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const summary = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.ok(summary.acked >= valueOf(second!, "orderflow_producer_records_acked_total")!);
    assert.equal((await getText(`http://127.0.0.1:${port}/metrics`)).status, 0, "closed at exit");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await output;
    await deleteTopic(topic);
  }
});
