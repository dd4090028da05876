import { deepEqual, equal, throws } from "node:assert/strict";
import { enrich, enrichedJson } from "./enrich.ts";
import { Order } from "./order.ts";

const CREATED = Date.parse("2026-11-26T20:00:00.000Z");

function order(extra: Record<string, unknown> = {}): Order {
  return Order.fromRaw({
    orderId: "ord-1",
    customerId: "cust-1",
    channel: "partner",
    items: [{ sku: "S", quantity: 2, unit_price: 1000 }],
    total: 2000,
    currency: "USD",
    created_at: "2026-11-26T20:00:00.000Z",
    ...extra,
  }, { now: CREATED });
}

Deno.test("enrich() returns the wire order plus consumption facts", () => {
  const e = enrich(order(), {
    consumedAt: CREATED + 1500,
    producedAt: CREATED + 1000,
    riskScore: 0.75,
    scorer: "partner",
  });
  deepEqual(e, {
    orderId: "ord-1",
    customerId: "cust-1",
    channel: "partner",
    items: [{ sku: "S", quantity: 2, unit_price: 1000 }],
    total: 2000,
    currency: "USD",
    created_at: "2026-11-26T20:00:00.000Z",
    consumed_at: "2026-11-26T20:00:01.500Z",
    latency_ms: 500,
    risk_score: 0.75,
    scorer: "partner",
  });
});

Deno.test("enrich() prefers the header, then body produced_at, then created_at", () => {
  const withBody = order({ produced_at: "2026-11-26T20:00:00.100Z" });
  const base = { consumedAt: CREATED + 300, riskScore: 0.1, scorer: "x" };
  equal(enrich(withBody, { ...base, producedAt: CREATED + 250 }).latency_ms, 50);
  equal(enrich(withBody, base).latency_ms, 200);
  equal(enrich(order(), base).latency_ms, 300);
});

Deno.test("enrich() clamps negative latency from clock skew to 0", () => {
  equal(
    enrich(order(), { consumedAt: CREATED, producedAt: CREATED + 900, riskScore: 0, scorer: "x" })
      .latency_ms,
    0,
  );
});

Deno.test("enrich() rounds fractional latency to whole ms", () => {
  equal(
    enrich(order(), { consumedAt: CREATED + 10.6, riskScore: 0, scorer: "x" }).latency_ms,
    11,
  );
});

Deno.test("enrich() rejects invalid options", () => {
  const o = order();
  throws(() => enrich(o, { consumedAt: NaN, riskScore: 0, scorer: "x" }), RangeError);
  throws(
    () => enrich(o, { consumedAt: 1, producedAt: NaN, riskScore: 0, scorer: "x" }),
    RangeError,
  );
  throws(() => enrich(o, { consumedAt: 1, riskScore: NaN, scorer: "x" }), RangeError);
  throws(() => enrich(o, { consumedAt: 1, riskScore: 1.5, scorer: "x" }), RangeError);
  throws(() => enrich(o, { consumedAt: 1, riskScore: -0.1, scorer: "x" }), RangeError);
  throws(() => enrich(o, { consumedAt: 1, riskScore: 0, scorer: "" }), TypeError);
});

Deno.test("enrich() does not mutate the order and returns fresh objects", () => {
  const o = order();
  const a = enrich(o, { consumedAt: CREATED, riskScore: 0, scorer: "x" });
  const b = enrich(o, { consumedAt: CREATED, riskScore: 0, scorer: "x" });
  deepEqual(a, b);
  equal(a === b || a.items === b.items, false);
  equal(o.items[0]?.unitPrice, 1000);
});

Deno.test("enrichedJson() writes the same text as JSON.stringify(enrich())", () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const scorers = ["web", "partner-v2", 'a"b', "back\\slash", "tab\there", "é", "\u2028", "\ud800"];
  const scores = [0, -0, 1, 0.5, 1e-7, 0.1 + 0.2, 0.123456789012345];
  for (let i = 0; i < 2000; i++) {
    const items = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, k) => ({
      sku: pick(["S", "SKU-1", "a.b:c_d-e", "Z9"]) + k,
      quantity: 1 + Math.floor(random() * 10_000),
      unit_price: pick([0.01, 0.3, 0.1 + 0.2, 19.99, 1e7, 123456.78, 5]),
    }));
    let cents = 0;
    for (const item of items) cents += item.quantity * Math.round(item.unit_price * 100);
    const total = cents / 100;
    if (total > 1e7) continue;
    const o = Order.fromRaw({
      orderId: `ord-${i}`,
      customerId: pick(["c1", "cust.1:x", "C-9"]),
      channel: pick(["web", "mobile", "partner_2"]),
      items,
      total,
      currency: pick(["USD", "EUR"]),
      created_at: pick([
        "2026-11-26T20:00:00.000Z",
        "2026-11-26T21:00:00+01:00",
        "2001-02-03T04:05:06Z",
      ]),
      ...(random() < 0.5 ? { produced_at: "2026-11-26T20:00:00.123456Z" } : {}),
    }, { now: CREATED });
    const options = {
      consumedAt: CREATED + random() * 10_000,
      ...(random() < 0.5 ? { producedAt: CREATED + random() * 20_000 } : {}),
      riskScore: pick(scores),
      ...(random() < 0.5 ? { edgeRiskScore: pick(scores) } : {}),
      scorer: pick(scorers),
    };
    equal(enrichedJson(o, options), JSON.stringify(enrich(o, options)));
  }
});

Deno.test("enrichedJson() falls back to JSON.stringify for data that is not an Order", () => {
  const options = { consumedAt: CREATED, riskScore: 0.5, scorer: "x" };
  const plain = {
    orderId: 'a"b\n',
    customerId: "c",
    channel: "web",
    items: [{ sku: "S", quantity: 1, unitPrice: NaN }],
    total: Infinity,
    currency: "USD",
    createdAt: "2026-11-26T20:00:00.000Z",
  };
  equal(enrichedJson(plain, options), JSON.stringify(enrich(plain, options)));
  const fake = Object.assign(Object.create(Order.prototype), plain);
  equal(enrichedJson(fake, options), JSON.stringify(enrich(fake, options)));
  equal(JSON.parse(enrichedJson(fake, options)).orderId, 'a"b\n');
});

Deno.test("enrichedJson() rejects invalid options like enrich()", () => {
  const o = order();
  throws(() => enrichedJson(o, { consumedAt: NaN, riskScore: 0, scorer: "x" }), RangeError);
  throws(() => enrichedJson(o, { consumedAt: 1, riskScore: 1.5, scorer: "x" }), RangeError);
  throws(() => enrichedJson(o, { consumedAt: 1, riskScore: 0, scorer: "" }), TypeError);
  for (const edgeRiskScore of [NaN, -0.1, 1.01, Infinity]) {
    const bad = { consumedAt: 1, riskScore: 0, edgeRiskScore, scorer: "x" };
    throws(() => enrichedJson(o, bad), RangeError);
    throws(() => enrich(o, bad), RangeError);
  }
});

Deno.test("enrich() keeps the edge score right after risk_score, and only when given", () => {
  const o = order();
  const base = { consumedAt: CREATED, riskScore: 0.25, scorer: "web" };
  const keys = Object.keys(enrich(o, { ...base, edgeRiskScore: 0.5 }));
  equal(keys[keys.indexOf("risk_score") + 1], "edge_risk_score");
  equal(enrich(o, { ...base, edgeRiskScore: 0.5 }).edge_risk_score, 0.5);
  equal("edge_risk_score" in enrich(o, base), false);
  equal(enrichedJson(o, base).includes("edge_risk_score"), false);
});
