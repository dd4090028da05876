/**
 * Unit tests of the consumer's HTTP handler (no socket): routes, status codes, content types,
 * health logic and that no endpoint leaks a secret.
 */
import assert from "node:assert/strict";
import { PROMETHEUS_CONTENT_TYPE } from "../mod.ts";
import { loadSettings } from "../config/settings.ts";
import { ConsumerMetrics } from "../consumer/metrics.ts";
import { createConsumerHttp } from "../consumer/http/app.ts";
import type { ObservedConsumer } from "../consumer/http/observed.ts";
import type { StoredOutcome } from "../consumer/handler.ts";
import type { ScoringMetrics } from "../plugins_host/types.ts";

const KAFKA_SECRET = "kafka-secret-Zq81";
const COS_SECRET = "cos-hmac-secret-Yp72";

function secretSettings() {
  return loadSettings({
    KAFKA_BROKERS: "broker-1.example.com:9093,broker-2.example.com:9093",
    KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    KAFKA_PASSWORD: KAFKA_SECRET,
    SINK: "cos",
    COS_ENDPOINT: "https://s3.eu-de.cloud-object-storage.appdomain.cloud",
    COS_BUCKET: "orders-bucket",
    COS_HMAC_ACCESS_KEY_ID: "hmac-access-id-Xa11",
    COS_HMAC_SECRET_ACCESS_KEY: COS_SECRET,
  });
}

function stored(orderId: string, total: number): StoredOutcome {
  return {
    kind: "stored",
    record: { partition: 0, offset: "0", key: null, value: null, headers: {}, timestamp: "0" },
    key: `orders/dt=2026-01-01/orderId=${orderId}.json`,
    orderId,
    channel: "web",
    total,
    riskScore: 0.4,
    scorer: "web",
    fallback: false,
    latencyMs: 20,
  };
}

interface Fixture {
  consumer: ObservedConsumer;
  metrics: ConsumerMetrics;
  clock: { now: number };
  sink: { ok: boolean; calls: number; error: string };
}

function fixture(): Fixture {
  const clock = { now: 1_800_000_000_000 };
  const metrics = new ConsumerMetrics({ now: () => clock.now });
  const sink = { ok: true, calls: 0, error: "connect ECONNREFUSED" };
  const scoringMetrics: ScoringMetrics = {
    failures: [
      { scorer: "web", file: "/p/web.ts", reason: "timeout", count: 2 },
      { scorer: "web", file: "/p/web.ts", reason: "threw", count: 1 },
    ],
    scored: 10,
    fallbacks: 3,
    builtin: 0,
    reloads: 1,
  };
  const consumer: ObservedConsumer = {
    metrics,
    inFlight: () => 7,
    probeSink: () => {
      sink.calls++;
      return sink.ok ? Promise.resolve() : Promise.reject(new Error(`${sink.error} ${COS_SECRET}`));
    },
    scoring: {
      metrics: () => scoringMetrics,
      status: () => [{
        channel: "web",
        name: "web",
        file: "/p/web.ts",
        source: "manifest",
        state: "ready",
        lastError: undefined,
        lastFailure: undefined,
        restarts: 0,
        busyMs: 0,
        memoryMb: 64,
        deadlineMs: 250,
        rssBytes: 50 * 1048576,
        isolation: "sandbox",
      }],
    },
  };
  return { consumer, metrics, clock, sink };
}

function app(f: Fixture, settings = secretSettings()) {
  return createConsumerHttp({
    consumer: f.consumer,
    settings,
    now: () => f.clock.now,
    probe: { cacheMs: 3000, timeoutMs: 500 },
  });
}

const get = (path: string, method = "GET") => new Request(`http://127.0.0.1${path}`, { method });

Deno.test("createConsumerHttp() serves Prometheus text on /metrics", async () => {
  const f = fixture();
  f.metrics.recordStored(stored("a", 10));
  f.metrics.recordDeadLetter("invalid_json");
  const res = await app(f).fetch(get("/metrics"));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
  const body = await res.text();
  assert.match(body, /^orderflow_orders_stored_total 1$/m);
  assert.match(body, /^orderflow_records_consumed_total 2$/m);
  assert.match(body, /^orderflow_dead_letters_total\{reason="invalid_json"\} 1$/m);
  assert.match(body, /^orderflow_in_flight 7$/m);
  assert.match(body, /^orderflow_scorer_failures_total\{scorer="web",reason="timeout"\} 2$/m);
  assert.match(body, /^orderflow_scorer_reloads_total 1$/m);
  assert.match(body, /^orderflow_end_to_end_latency_seconds_sum 0\.02$/m);
  assert.match(body, /^orderflow_build_info\{version="[^"]+",deno="[^"]+"\} 1$/m);
  assert.match(body, /^# TYPE orderflow_end_to_end_latency_seconds histogram$/m);
});

Deno.test("createConsumerHttp() /healthz is 200 while the loop ticks, 503 when it stalls", async () => {
  const f = fixture();
  const a = app(f);
  const ok = await a.fetch(get("/healthz"));
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).status, "ok");
  f.clock.now += 31_000;
  const stalled = await a.fetch(get("/healthz"));
  assert.equal(stalled.status, 503);
  assert.match((await stalled.json()).reason, /no consume-loop activity for 31 s/);
  f.metrics.tick();
  assert.equal((await a.fetch(get("/healthz"))).status, 200);
  await (await a.fetch(get("/healthz"))).body?.cancel();
});

Deno.test("createConsumerHttp() /readyz needs the group and the sink, and caches the probe", async () => {
  const f = fixture();
  const a = app(f);
  let res = await a.fetch(get("/readyz"));
  assert.equal(res.status, 503);
  assert.match((await res.json()).reason, /not joined to consumer group/);
  assert.equal(f.sink.calls, 0);

  f.metrics.setJoined(true);
  res = await a.fetch(get("/readyz"));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ready" });

  f.sink.ok = false;
  res = await a.fetch(get("/readyz"));
  assert.equal(res.status, 200, "cached for 3 s");
  await res.body?.cancel();
  assert.equal(f.sink.calls, 1);

  f.clock.now += 3001;
  res = await a.fetch(get("/readyz"));
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.match(body.reason, /^sink unavailable: connect ECONNREFUSED \*\*\*$/);
  assert.equal(f.sink.calls, 2);

  f.metrics.setJoined(false);
  res = await a.fetch(get("/readyz"));
  assert.equal(res.status, 503);
  assert.match((await res.json()).reason, /rebalancing/);
});

Deno.test("createConsumerHttp() /readyz fails a sink probe that hangs", async () => {
  const f = fixture();
  let release = () => {};
  f.consumer = {
    ...f.consumer,
    probeSink: () => new Promise<void>((resolve) => release = resolve),
  };
  f.metrics.setJoined(true);
  const res = await app(f).fetch(get("/readyz"));
  assert.equal(res.status, 503);
  assert.match((await res.json()).reason, /timed out after 500 ms/);
  release();
});

Deno.test("createConsumerHttp() serves the dashboard, its assets and the snapshot", async () => {
  const f = fixture();
  f.metrics.setJoined(true);
  for (let i = 0; i < 15; i++) f.metrics.recordStored(stored(`o-${i}`, 100 + i));
  f.metrics.recordStored(stored("o-14", 114)); // replay
  const a = app(f);
  a.sample(f.clock.now);
  const page = await a.fetch(get("/"));
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  const html = await page.text();
  for (const src of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
    const asset = await a.fetch(get(src[1]!));
    assert.equal(asset.status, 200, src[1]);
    assert.match(asset.headers.get("content-type") ?? "", /^text\/(javascript|css)/);
    const text = await asset.text();
    assert.ok(text.length > 500, src[1]);
  }
  const uplot = await (await a.fetch(get("/assets/uPlot.iife.min.js"))).text();
  assert.match(uplot, /uPlot/);

  const snap = await a.fetch(get("/api/snapshot"));
  assert.equal(snap.status, 200);
  assert.equal(snap.headers.get("content-type"), "application/json; charset=utf-8");
  const s = await snap.json();
  assert.equal(s.topOrders.length, 10);
  assert.deepEqual(s.topOrders.slice(0, 2).map((o: { orderId: string }) => o.orderId), [
    "o-14",
    "o-13",
  ]);
  assert.equal(s.totals.stored, 16);
  assert.equal(s.history.length, 1);
  assert.equal(s.health.ready, true);
  assert.equal(s.scorers[0].failures, 3);
  assert.equal(s.scorers[0].file, "web.ts");
  assert.equal(
    s.service.sink,
    "cos:https://s3.eu-de.cloud-object-storage.appdomain.cloud/orders-bucket",
  );
  assert.deepEqual(s.service.brokers, ["broker-1.example.com:9093", "broker-2.example.com:9093"]);
  const later = await (await a.fetch(get(`/api/snapshot?since=${s.history[0].t}`))).json();
  assert.equal(later.history.length, 0);
});

Deno.test("createConsumerHttp() answers 404, 405 and HEAD", async () => {
  const a = app(fixture());
  const missing = await a.fetch(get("/nope"));
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error, /Cannot find \/nope/);
  const post = await a.fetch(get("/metrics", "POST"));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
  const head = await a.fetch(get("/metrics", "HEAD"));
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
});

Deno.test("createConsumerHttp() never shows a secret on any endpoint", async () => {
  const f = fixture();
  f.metrics.setJoined(true);
  f.sink.ok = false;
  f.metrics.recordStored(stored("a", 10));
  const settings = secretSettings();
  const a = app(f, settings);
  a.sample(f.clock.now);
  const paths = ["/", "/index.html", "/metrics", "/healthz", "/readyz", "/api/snapshot", "/x"];
  const html = await (await a.fetch(get("/"))).text();
  for (const m of html.matchAll(/(?:src|href)="(\/[^"]+)"/g)) paths.push(m[1]!);
  const secrets = [KAFKA_SECRET, COS_SECRET, "Zq81", "Yp72"];
  for (const path of paths) {
    const body = await (await a.fetch(get(path))).text();
    for (const secret of secrets) {
      assert.ok(!body.includes(secret), `${path} shows a secret`);
    }
  }
  const snap = await (await a.fetch(get("/api/snapshot"))).text();
  assert.match(snap, /sink unavailable: connect ECONNREFUSED \*\*\*/);
  assert.ok(!snap.includes("hmac-access-id"), "no access key id either");
});
