/**
 * The consumer's HTTP endpoints during a real run: a `deno run -P=consume consumer/main.ts`
 * subprocess against the local broker, scraped over its socket.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  consumerEnv,
  ConsumerProcess,
  createBucket,
  deleteBucket,
  OutageProxy,
  produce,
  scenario,
  until,
  validOrders,
} from "./consumer_support.ts";
import {
  checkHistogram,
  type Family,
  freePort,
  getText,
  parsePrometheus,
  valueOf,
} from "./http_support.ts";

async function scrape(base: string): Promise<Map<string, Family>> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheus(await res.text());
}

function counter(f: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  assert.equal(f.get(name)?.type, "counter", `${name} is a counter`);
  return valueOf(f, name, labels) ?? 0;
}

async function stop(proc: ConsumerProcess | undefined): Promise<void> {
  if (proc === undefined) return;
  proc.kill("SIGTERM");
  const code = await proc.exit(30_000).catch(() => -1);
  if (code !== 0) {
    proc.kill("SIGKILL");
    throw new RangeError(`consumer exited with ${code}:\n${proc.lines.join("\n")}`);
  }
}

Deno.test("consumer /metrics numbers move as orders flow; histogram invariants hold", async () => {
  const s = await scenario("http-metrics", 3);
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  let proc: ConsumerProcess | undefined;
  try {
    proc = new ConsumerProcess(consumerEnv(s, { HTTP_PORT: String(port) }), [
      "--summary-interval",
      "0",
    ]);
    await proc.waitFor(/http: dashboard http:\/\/127\.0\.0\.1:\d+\//, 60_000);
    await until(
      "/readyz 200",
      async () => (await getText(`${base}/readyz`)).status === 200,
      60_000,
    );
    assert.equal((await getText(`${base}/healthz`)).status, 200);

    await produce(s.topic, validOrders("m", 300));
    await until("300 stored", async () => {
      return valueOf(await scrape(base), "orderflow_orders_stored_total") === 300;
    }, 60_000);
    const first = await scrape(base);

    await produce(s.topic, [
      ...validOrders("m", 200, 300),
      { key: "bad-1", value: "{not json" },
      { key: "bad-2", value: JSON.stringify({ orderId: "x" }) },
      { key: "bad-3", value: "" },
    ]);
    await until("500 stored + 3 dead letters", async () => {
      const f = await scrape(base);
      return valueOf(f, "orderflow_orders_stored_total") === 500 &&
        valueOf(f, "orderflow_records_consumed_total") === 503;
    }, 60_000);
    const second = await scrape(base);

    // Counters moved by exactly what flowed.
    assert.equal(counter(first, "orderflow_orders_stored_total"), 300);
    assert.equal(counter(first, "orderflow_records_consumed_total"), 300);
    assert.equal(counter(second, "orderflow_orders_stored_total"), 500);
    assert.equal(counter(second, "orderflow_dead_letters_total", { reason: "invalid_json" }), 1);
    assert.equal(counter(second, "orderflow_dead_letters_total", { reason: "invalid_order" }), 1);
    assert.equal(counter(second, "orderflow_dead_letters_total", { reason: "empty" }), 1);
    assert.equal(counter(second, "orderflow_sink_retries_total"), 0);

    // End-to-end latency: one observation per stored order (the producer stamps produced_at).
    const h1 = checkHistogram(first.get("orderflow_end_to_end_latency_seconds")!);
    const h2 = checkHistogram(second.get("orderflow_end_to_end_latency_seconds")!);
    assert.equal(h1.count, 300);
    assert.equal(h2.count, 500);
    assert.ok(h2.sum > h1.sum, "latency sum grows");
    assert.ok(h2.sum / h2.count < 60, "mean latency in seconds, not ms");
    for (const s2 of second.get("orderflow_end_to_end_latency_seconds")!.samples) {
      if (s2.name.endsWith("_bucket")) {
        const before = valueOf(first, s2.name, { le: s2.labels.le! }) ?? 0;
        assert.ok(s2.value >= before, `bucket le=${s2.labels.le} never decreases`);
      }
    }
    checkHistogram(second.get("orderflow_batch_duration_seconds")!);

    // Gauges.
    assert.ok(valueOf(second, "orderflow_throughput_per_second")! > 0);
    assert.equal(valueOf(second, "orderflow_partitions_paused"), 0);
    assert.equal(valueOf(second, "orderflow_in_flight"), 0);
    assert.equal(valueOf(second, "orderflow_group_member"), 1);
    for (const channel of ["web", "mobile", "partner"]) {
      const mean = valueOf(second, "orderflow_risk_score_mean", { channel });
      assert.ok(mean !== undefined && mean >= 0 && mean < 1, `risk mean of ${channel}`);
    }
    await until("lag 0 on every partition", async () => {
      const lag = (await scrape(base)).get("orderflow_consumer_lag")!.samples;
      return lag.length === 3 && lag.every((x) => x.value === 0);
    }, 20_000);
    assert.equal(second.get("orderflow_build_info")?.samples[0]?.value, 1);
    // The kafkajs patches are live, and the consumer said so at start-up.
    for (const patch of ["fetch_v11_decoder", "varint_encoder"]) {
      assert.equal(valueOf(second, "orderflow_kafkajs_patch_live", { patch }), 1, patch);
    }
    assert.ok(proc.lines.includes(
      "kafkajs patches: fetch_v11_decoder live, varint_encoder live (kafkajs 2.2.4)",
    ));
    assert.equal(second.get("orderflow_scorer_failures_total")?.type, "counter");

    // The snapshot agrees with /metrics.
    const snap = JSON.parse((await getText(`${base}/api/snapshot`)).body);
    assert.equal(snap.totals.stored, 500);
    assert.equal(snap.topOrders.length, 10);
    assert.equal(new Set(snap.topOrders.map((o: { orderId: string }) => o.orderId)).size, 10);
    assert.equal(snap.service.topic, s.topic);

    // Shutdown: readiness goes first, then the process exits 0.
    await stop(proc);
    proc = undefined;
    assert.equal((await getText(`${base}/healthz`)).status, 0, "server closed with the process");
  } finally {
    if (proc !== undefined) {
      proc.kill("SIGKILL");
      await proc.exit().catch(() => undefined);
    }
    await cleanup(s);
  }
});

Deno.test("consumer /readyz turns 503 while S3 is unreachable and 200 when it returns", async () => {
  const s = await scenario("http-ready", 1);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const cosEnv = await createBucket(bucket);
  const target = new URL(cosEnv.COS_ENDPOINT!);
  const proxy = new OutageProxy({ hostname: target.hostname, port: Number(target.port) });
  proxy.up();
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  let proc: ConsumerProcess | undefined;
  try {
    proc = new ConsumerProcess(
      consumerEnv(s, {
        ...cosEnv,
        COS_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
        HTTP_PORT: String(port),
      }),
      ["--summary-interval", "0"],
    );
    await until(
      "/readyz 200",
      async () => (await getText(`${base}/readyz`)).status === 200,
      60_000,
    );

    await proxy.down();
    let body = "";
    await until("/readyz 503", async () => {
      const r = await getText(`${base}/readyz`);
      body = r.body;
      return r.status === 503;
    }, 20_000);
    const reason = JSON.parse(body).reason as string;
    assert.match(reason, /^sink unavailable: /);
    assert.ok(!reason.includes(cosEnv.COS_HMAC_SECRET_ACCESS_KEY!), "no secret in the reason");
    assert.equal((await getText(`${base}/healthz`)).status, 200, "alive during the outage");

    proxy.up();
    await until(
      "/readyz 200 again",
      async () => (await getText(`${base}/readyz`)).status === 200,
      20_000,
    );
    await stop(proc);
    proc = undefined;
  } finally {
    if (proc !== undefined) {
      proc.kill("SIGKILL");
      await proc.exit().catch(() => undefined);
    }
    await proxy.down();
    await deleteBucket(bucket);
    await cleanup(s);
  }
});
