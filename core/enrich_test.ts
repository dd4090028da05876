import { deepEqual, equal, throws } from "node:assert/strict";
import { enrich } from "./enrich.ts";
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
