import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  Counter,
  Gauge,
  LatencyHistogram,
  MetricsRegistry,
  QUANTILE_RELATIVE_ERROR,
  renderPrometheus,
  SlidingWindowRate,
} from "./metrics.ts";

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("Counter.inc() counts per label set", () => {
  const c = new Counter({ name: "c_total", help: "h", labelNames: ["a", "b"] });
  c.inc(1, { a: "x", b: "y" });
  c.inc(2, { b: "y", a: "x" }); // key order does not matter
  c.inc(1, { a: "x", b: "z" });
  equal(c.get({ a: "x", b: "y" }), 3);
  equal(c.get({ a: "x", b: "z" }), 1);
  deepEqual(c.collect().samples.map((s) => [s.labels, s.value]), [
    [[["a", "x"], ["b", "y"]], 3],
    [[["a", "x"], ["b", "z"]], 1],
  ]);
});

Deno.test("Counter label values cannot collide through separators", () => {
  const c = new Counter({ name: "c_total", help: "h", labelNames: ["a", "b"] });
  c.inc(1, { a: "x\u0000", b: "y" });
  c.inc(1, { a: "x", b: "\u0000y" });
  equal(c.collect().samples.length, 2);
});

Deno.test("Counter.inc() rejects negative, NaN and infinite amounts", () => {
  const c = new Counter({ name: "c_total", help: "h" });
  for (const bad of [-1, NaN, Infinity]) throws(() => c.inc(bad), RangeError);
  equal(c.get(), 0);
});

Deno.test("Counter rejects missing, extra and non-string labels", () => {
  const c = new Counter({ name: "c_total", help: "h", labelNames: ["a"] });
  throws(() => c.inc(1), TypeError);
  throws(() => c.inc(1, { a: "x", b: "y" }), TypeError);
  throws(() => c.inc(1, { a: 1 as unknown as string }), TypeError);
  const plain = new Counter({ name: "p_total", help: "h" });
  throws(() => plain.inc(1, { a: "x" }), TypeError);
});

Deno.test("Counter enforces maxSeries", () => {
  const c = new Counter({ name: "c_total", help: "h", labelNames: ["id"], maxSeries: 2 });
  c.inc(1, { id: "1" });
  c.inc(1, { id: "2" });
  throws(() => c.inc(1, { id: "3" }), RangeError);
  c.inc(1, { id: "1" });
  equal(c.get({ id: "1" }), 2);
});

Deno.test("Counter.labels() binds a handle that shares the series", () => {
  const c = new Counter({ name: "c_total", help: "h", labelNames: ["a"] });
  const h = c.labels({ a: "x" });
  h.inc();
  h.inc(4);
  equal(c.get({ a: "x" }), 5);
  equal(h.get(), 5);
  throws(() => h.inc(-1), RangeError);
});

Deno.test("Counter/Gauge reject invalid metric and label names", () => {
  throws(() => new Counter({ name: "bad-name", help: "h" }), TypeError);
  throws(() => new Counter({ name: "9x", help: "h" }), TypeError);
  throws(() => new Gauge({ name: "g", help: "h", labelNames: ["__x"] }), TypeError);
  throws(() => new Gauge({ name: "g", help: "h", labelNames: ["a", "a"] }), TypeError);
  throws(() => new Gauge({ name: "g", help: "h", labelNames: ["a-b"] }), TypeError);
});

Deno.test("Gauge.set()/inc()/dec() and the collect callback", () => {
  const g = new Gauge({ name: "g", help: "h", labelNames: ["p"] });
  g.set(5, { p: "0" });
  g.dec(2, { p: "0" });
  g.inc(1, { p: "1" });
  equal(g.get({ p: "0" }), 3);
  equal(g.get({ p: "1" }), 1);
  throws(() => g.set(NaN, { p: "0" }), RangeError);
  let calls = 0;
  const lazy = new Gauge({ name: "lazy", help: "h", collect: (self) => self.set(++calls) });
  equal(lazy.collect().samples[0]?.value, 1);
  equal(lazy.collect().samples[0]?.value, 2);
});

Deno.test("LatencyHistogram fills cumulative buckets with +Inf, sum and count", () => {
  const h = new LatencyHistogram({ name: "h", help: "h", buckets: [1, 10] });
  for (const v of [0, 1, 5, 10, 11, 1000]) h.observe(v);
  deepEqual(
    h.collect().samples.map((s) => [s.suffix, s.labels, s.value]),
    [
      ["_bucket", [["le", "1"]], 2],
      ["_bucket", [["le", "10"]], 4],
      ["_bucket", [["le", "+Inf"]], 6],
      ["_sum", [], 1027],
      ["_count", [], 6],
    ],
  );
});

Deno.test("LatencyHistogram rejects negative, NaN and infinite values and bad buckets", () => {
  const h = new LatencyHistogram({ name: "h", help: "h" });
  for (const bad of [-1, NaN, Infinity]) throws(() => h.observe(bad), RangeError);
  equal(h.count, 0);
  throws(() => new LatencyHistogram({ name: "h", help: "h", buckets: [2, 1] }), RangeError);
  throws(() => new LatencyHistogram({ name: "h", help: "h", buckets: [1, Infinity] }), RangeError);
});

Deno.test("LatencyHistogram.quantile() is NaN when empty and exact at the extremes", () => {
  const h = new LatencyHistogram({ name: "h", help: "h" });
  ok(Number.isNaN(h.quantile(0.5)));
  ok(Number.isNaN(h.summary().p99));
  h.observe(3.3);
  h.observe(700);
  equal(h.quantile(0), 3.3);
  equal(h.quantile(1), 700);
  throws(() => h.quantile(1.1), RangeError);
});

Deno.test("LatencyHistogram.quantile() stays within the documented error (property)", () => {
  ok(QUANTILE_RELATIVE_ERROR < 0.01);
  for (let seed = 1; seed <= 20; seed++) {
    const random = prng(seed);
    const h = new LatencyHistogram({ name: "h", help: "h" });
    const n = 1 + Math.floor(random() * 5000);
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      // log-uniform between 0.01 ms and 100 s
      const v = Math.exp(Math.log(0.01) + random() * Math.log(1e7));
      values.push(v);
      h.observe(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
      const exact = values[Math.max(1, Math.ceil(q * n)) - 1]!;
      const estimate = h.quantile(q);
      ok(
        Math.abs(estimate - exact) <= exact * QUANTILE_RELATIVE_ERROR * (1 + 1e-9),
        `seed ${seed} q ${q}: ${estimate} vs ${exact}`,
      );
    }
  }
});

Deno.test("LatencyHistogram memory does not grow with observations", () => {
  const h = new LatencyHistogram({ name: "h", help: "h" });
  for (let i = 0; i < 100_000; i++) h.observe(i % 5000);
  equal(h.count, 100_000);
  equal(h.summary().max, 4999);
  h.reset();
  equal(h.count, 0);
  ok(Number.isNaN(h.summary().min));
});

Deno.test("SlidingWindowRate drops buckets older than the window", () => {
  const r = new SlidingWindowRate({ now: 0 });
  r.add(100, 0);
  r.add(10, 29_999);
  equal(r.count(29_999), 110);
  equal(r.count(30_000), 10);
  equal(r.count(60_000), 0);
  equal(r.rate(60_000), 0);
});

Deno.test("SlidingWindowRate.rate() does not dilute the first seconds after start", () => {
  const r = new SlidingWindowRate({ now: 10_000 });
  r.add(50, 10_100);
  r.add(50, 11_500);
  equal(r.rate(12_000), 50); // 100 events over 2 s, not over 30 s
  const single = new SlidingWindowRate({ now: 0 });
  single.add(1, 1);
  equal(single.rate(2), 1); // covered time is at least one bucket
});

Deno.test("SlidingWindowRate reuses ring slots across laps", () => {
  const r = new SlidingWindowRate({ windowMs: 3000, bucketMs: 1000, now: 0 });
  for (let s = 0; s < 100; s++) r.add(1, s * 1000 + 500);
  equal(r.count(99_900), 3);
  equal(r.rate(99_900), 3 / 2.9);
});

Deno.test("SlidingWindowRate ignores events older than the window", () => {
  const r = new SlidingWindowRate({ windowMs: 3000, bucketMs: 1000, now: 0 });
  r.add(1, 10_000);
  r.add(5, 1_000); // same slot, a lap earlier
  equal(r.count(10_000), 1);
  r.add(2, 9_000); // within the window, other slot
  equal(r.count(10_000), 3);
});

Deno.test("SlidingWindowRate rejects bad options and times", () => {
  throws(() => new SlidingWindowRate({ windowMs: 1500, bucketMs: 1000 }), RangeError);
  throws(() => new SlidingWindowRate({ bucketMs: 0 }), RangeError);
  const r = new SlidingWindowRate({ now: 0 });
  throws(() => r.add(1, NaN), RangeError);
  throws(() => r.add(-1, 0), RangeError);
});

Deno.test("MetricsRegistry rejects duplicate and histogram-shadowing names", () => {
  const registry = new MetricsRegistry();
  registry.histogram({ name: "lat", help: "h" });
  throws(() => registry.counter({ name: "lat", help: "h" }), TypeError);
  throws(() => registry.counter({ name: "lat_count", help: "h" }), TypeError);
  registry.counter({ name: "x_sum", help: "h" });
  throws(() => registry.histogram({ name: "x", help: "h" }), TypeError);
  deepEqual(registry.metrics().map((m) => m.name), ["lat", "x_sum"]);
});

Deno.test("MetricsRegistry instances are independent", () => {
  const a = new MetricsRegistry();
  const b = new MetricsRegistry();
  a.counter({ name: "c_total", help: "h" }).inc();
  equal(b.get("c_total"), undefined);
  b.counter({ name: "c_total", help: "h" });
});

Deno.test("renderPrometheus() escapes help and label values and spells special values", () => {
  const registry = new MetricsRegistry();
  registry.gauge({ name: "g", help: "line1\nback\\slash", labelNames: ["v"] }).set(Infinity, {
    v: 'a\\b"c\nd',
  });
  registry.gauge({ name: "n", help: "" }).set(-Infinity);
  equal(
    renderPrometheus(registry),
    "# HELP g line1\\nback\\\\slash\n" +
      "# TYPE g gauge\n" +
      'g{v="a\\\\b\\"c\\nd"} +Inf\n' +
      "# HELP n \n" +
      "# TYPE n gauge\n" +
      "n -Inf\n",
  );
});

Deno.test("renderPrometheus() renders an empty registry as empty text", () => {
  equal(renderPrometheus(new MetricsRegistry()), "");
});

Deno.test("renderPrometheus() evaluates rates at the given now", () => {
  const registry = new MetricsRegistry();
  registry.rate({ name: "r", help: "h", now: 0 }).add(60, 500);
  equal(renderPrometheus(registry, { now: 2_000 }), "# HELP r h\n# TYPE r gauge\nr 30\n");
});
