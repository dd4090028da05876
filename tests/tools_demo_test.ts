/**
 * `deno task demo` end to end against the real local broker: every order stored, the report
 * printed, nothing new left running.
 */
import { equal, match, ok } from "node:assert/strict";
import { plaintextKafka } from "./_infra.ts";
import { silenceTimeoutNegativeWarning } from "../clients/kafka.ts";
import { readStoredOrders } from "../tools/stored_orders.ts";
import { removeDemoDir, repoPath, runDemo } from "./tools_support.ts";

Deno.test("deno task demo --count 500 stores every order, prints the report and cleans up", async () => {
  const run = await runDemo(["--count", "500"]);
  try {
    equal(run.code, 0, `demo failed:\n${run.stderr}\n${run.stdout}`);
    ok(run.dir !== undefined && run.topic !== undefined, run.stdout);

    // The broker ran before (deno task test starts it): the demo must neither start nor stop it.
    match(run.stderr, /already running \(it will be left running\)/);
    ok(!run.stderr.includes("stopping the local Kafka broker"));

    // Producing starts only once the consumer is ready (its start-up is not timed into the
    // first orders' latency).
    const ready = run.stderr.search(
      /^demo: consumer ready \d+ ms after process start \(.*first fetch issued/m,
    );
    ok(ready > 0 && ready < run.stderr.indexOf("demo: producing"), run.stderr);

    // Quiet start: no warning from Deno, kafkajs or the demo, nor in the consumer's log.
    const consumerLog = await Deno.readTextFile(repoPath(`${run.dir}/consumer.log`));
    equal(run.stderr.split("\n").filter((l) => /warn/i.test(l)).join("\n"), "", run.stderr);
    equal(consumerLog.split("\n").filter((l) => /warn/i.test(l)).join("\n"), "", consumerLog);

    match(run.stdout, /^Orders: stored 500 of 500 produced; dead-lettered 0$/m);
    match(run.stdout, /^Throughput: \d+ orders\/s end to end/m);
    match(run.stdout, /^Latency produce→consume .*: p50 \d+ ms, p95 \d+ ms, p99 \d+ ms$/m);
    match(run.stdout, /^Top 5 orders by value:$/m);
    match(run.stdout, /^Risk by channel:$/m);
    match(
      run.stdout,
      /^Sample: \.\/data\/demo-.*\/orders\/dt=\d{4}-\d{2}-\d{2}\/orderId=.*\.json$/m,
    );

    const stored = await readStoredOrders(repoPath(run.dir));
    equal(stored.length, 500);
    equal(new Set(stored.map((s) => s.body.orderId)).size, 500);
    for (const { body } of stored) {
      ok(typeof body.latency_ms === "number" && body.latency_ms >= 0);
      ok(typeof body.risk_score === "number" && typeof body.scorer === "string");
    }
    // The top order in the report is the largest stored total.
    const max = Math.max(...stored.map((s) => s.body.total as number));
    const topLine =
      run.stdout.split("\n")[run.stdout.split("\n").indexOf("Top 5 orders by value:") + 2];
    ok(topLine?.includes(max.toFixed(2)), `${topLine} should show ${max}`);

    // The demo deleted its topics and stopped its consumer.
    silenceTimeoutNegativeWarning();
    const admin = plaintextKafka().admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      ok(!topics.includes(run.topic) && !topics.includes(`${run.topic}.dlq`));
    } finally {
      await admin.disconnect();
    }
    match(run.stderr, /demo: consumer stopped \(exit 0\)/);
  } finally {
    await removeDemoDir(run.dir);
  }
});

Deno.test("deno task demo rejects a bad --count with exit code 2 and the remedy", async () => {
  const run = await runDemo(["--count", "0"]);
  equal(run.code, 2);
  match(run.stderr, /^demo: Invalid --count: "0" is not an integer >= 1\n/m);
  match(run.stderr, /\nrun with --help for usage\n$/);
});
