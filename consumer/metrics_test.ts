import assert from "node:assert/strict";
import { renderPrometheus } from "../mod.ts";
import { ConsumerMetrics, OTHER_CHANNEL } from "./metrics.ts";
import type { StoredOutcome } from "./handler.ts";

function stored(orderId: string, total: number, extra: Partial<StoredOutcome> = {}): StoredOutcome {
  return {
    kind: "stored",
    record: { partition: 0, offset: "0", key: null, value: null, headers: {}, timestamp: "0" },
    key: `orders/dt=2026-01-01/orderId=${orderId}.json`,
    orderId,
    channel: "web",
    total,
    riskScore: 0.5,
    scorer: "web",
    fallback: false,
    latencyMs: 12,
    ...extra,
  };
}

Deno.test("ConsumerMetrics.topOrders() keeps the k largest, each order once", () => {
  const m = new ConsumerMetrics({ now: () => 1_000_000, topK: 3 });
  for (const [id, total] of [["a", 5], ["b", 50], ["c", 10], ["d", 40], ["b", 50], ["e", 1]]) {
    m.recordStored(stored(id as string, total as number));
  }
  // A replay of "b" must not list it twice; "a" was displaced by "d".
  assert.deepEqual(m.topOrders().map((o) => o.orderId), ["b", "d", "c"]);
  m.recordStored(stored("c", 10)); // replay of a kept order
  m.recordStored(stored("a", 5)); // displaced order replayed: still too small
  m.recordStored(stored("f", 45));
  assert.deepEqual(m.topOrders().map((o) => o.orderId), ["b", "f", "d"]);
  // "c" left the list, so a replay of it may come back when it ranks again.
  m.recordStored(stored("g", 100));
  assert.deepEqual(m.topOrders().map((o) => o.orderId), ["g", "b", "f"]);
});

Deno.test("ConsumerMetrics renders counters, seconds histograms and gauges for Prometheus", () => {
  let now = 1_000_000;
  const m = new ConsumerMetrics({ now: () => now });
  m.recordStored(stored("a", 10, { latencyMs: 250 }));
  m.recordStored(stored("b", 10, { latencyMs: -3, channel: "mobile", riskScore: 0.25 }));
  m.recordStored(stored("c", 10, { latencyMs: undefined, channel: "mobile", riskScore: 0.75 }));
  m.recordDeadLetter("invalid_json");
  m.recordDeadLetter("invalid_json");
  m.recordDeadLetter("empty");
  m.retries.inc(4);
  m.setLag(2, 17);
  m.setPaused(1, true);
  now += 1000;
  const text = renderPrometheus(m.registry, { now });
  assert.match(text, /^orderflow_records_consumed_total 6$/m);
  assert.match(text, /^orderflow_orders_stored_total 3$/m);
  assert.match(text, /^orderflow_dead_letters_total\{reason="invalid_json"\} 2$/m);
  assert.match(text, /^orderflow_sink_retries_total 4$/m);
  assert.match(text, /^orderflow_end_to_end_latency_seconds_count 2$/m);
  assert.match(text, /^orderflow_end_to_end_latency_seconds_sum 0\.25$/m);
  assert.match(text, /^orderflow_end_to_end_latency_seconds_bucket\{le="0\.001"\} 1$/m);
  assert.match(text, /^orderflow_end_to_end_latency_seconds_bucket\{le="0\.25"\} 2$/m);
  assert.match(text, /^orderflow_consumer_lag\{partition="2"\} 17$/m);
  assert.match(text, /^orderflow_partitions_paused 1$/m);
  assert.match(text, /^orderflow_risk_score_mean\{channel="mobile"\} 0\.5$/m);
  assert.match(text, /^orderflow_throughput_per_second 6$/m);
  assert.equal(m.deadLettered.value, 3);
  assert.deepEqual([...m.deadLetteredByReason], [["invalid_json", 2], ["empty", 1]]);
});

Deno.test("ConsumerMetrics.takeRecentLatency() covers only the interval since the last call", () => {
  const m = new ConsumerMetrics({ now: () => 0 });
  m.recordStored(stored("a", 1, { latencyMs: 100 }));
  m.recordStored(stored("b", 1, { latencyMs: 300 }));
  const first = m.takeRecentLatency();
  assert.equal(first.count, 2);
  assert.equal(first.max, 300);
  assert.equal(m.takeRecentLatency().count, 0);
  assert.equal(m.latency.ms.count, 2);
});

Deno.test("ConsumerMetrics aggregates channels beyond maxChannels as _other", () => {
  const m = new ConsumerMetrics({ now: () => 0, maxChannels: 1 });
  m.recordStored(stored("a", 1, { channel: "web" }));
  m.recordStored(stored("b", 1, { channel: "pos" }));
  assert.deepEqual([...m.riskByChannel().keys()], ["web", OTHER_CHANNEL]);
});

Deno.test("ConsumerMetrics counts edge-scored orders and disagreements > 0.1 per channel", () => {
  const m = new ConsumerMetrics({ now: () => 1_000_000 });
  m.recordStored(stored("a", 1, { riskScore: 0.5, edgeRiskScore: 0.5 }));
  m.recordStored(stored("b", 1, { riskScore: 0.5, edgeRiskScore: 0.65 }));
  m.recordStored(stored("c", 1, { riskScore: 0.5, edgeRiskScore: 0.4 })); // 0.0999…: agrees
  m.recordStored(stored("d", 1, { channel: "pos", riskScore: 0.1, edgeRiskScore: 0.9 }));
  m.recordStored(stored("e", 1, { channel: "pos" })); // no edge score
  m.recordStored(stored("f", 1, { edgeScoreInvalid: true }));
  assert.deepEqual(Object.fromEntries(m.edgeByChannel()), {
    web: { scored: 3, disagreements: 1 },
    pos: { scored: 1, disagreements: 1 },
  });
  assert.equal(m.edgeScoreInvalid.value, 1);
  const text = renderPrometheus(m.registry, { now: 1_000_000 });
  assert.match(text, /orderflow_edge_scored_total\{channel="web"\} 3/);
  assert.match(text, /orderflow_edge_disagreements_total\{channel="pos"\} 1/);
  assert.match(text, /orderflow_edge_score_invalid_total 1/);
});
