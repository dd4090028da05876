import { equal, throws } from "node:assert/strict";
import { orderKey, partitionDate } from "./order_key.ts";
import { Order } from "./order.ts";

Deno.test("orderKey() builds the Hive-style key from id and UTC date", () => {
  equal(
    orderKey({ orderId: "ord-000123", createdAt: "2026-11-26T23:59:59.999Z" }),
    "orders/dt=2026-11-26/orderId=ord-000123.json",
  );
});

Deno.test("orderKey() uses the UTC date of an offset timestamp", () => {
  equal(
    orderKey({ orderId: "A_1", createdAt: "2026-11-26T22:00:00-05:00" }),
    "orders/dt=2026-11-27/orderId=A_1.json",
  );
});

Deno.test("orderKey() is the same for a replayed order (no processing time in it)", () => {
  const raw = {
    orderId: "ord-9",
    customerId: "c",
    channel: "web",
    items: [{ sku: "S", quantity: 1, unit_price: 1 }],
    total: 1,
    currency: "USD",
    created_at: "2026-01-02T03:04:05Z",
  };
  const a = orderKey(Order.fromRaw(raw));
  const b = orderKey(Order.fromRaw(JSON.parse(JSON.stringify(raw))));
  equal(a, b);
  equal(a, "orders/dt=2026-01-02/orderId=ord-9.json");
});

Deno.test("orderKey() rejects unsafe ids even without Order.fromRaw()", () => {
  const createdAt = "2026-11-26T20:00:00Z";
  for (const orderId of ["..", "../x", "a/b", "a\\b", "a\u0000", "", "x".repeat(65), "оrd"]) {
    throws(() => orderKey({ orderId, createdAt }), TypeError, JSON.stringify(orderId));
  }
  throws(() => orderKey({ orderId: 42 as unknown as string, createdAt }), TypeError);
});

Deno.test("partitionDate() rejects text that is not a zoned timestamp", () => {
  throws(() => partitionDate("2026-11-26T20:00:00"), SyntaxError);
  throws(() => partitionDate("2026-02-30T20:00:00Z"), SyntaxError);
  throws(() => partitionDate(undefined as unknown as string), TypeError);
});

Deno.test("partitionDate() handles leap days and year boundaries", () => {
  equal(partitionDate("2028-02-29T12:00:00Z"), "2028-02-29");
  equal(partitionDate("2027-01-01T00:30:00+01:00"), "2026-12-31");
});

Deno.test("orderKey() of an Order equals the key of its plain id and created_at", () => {
  const now = Date.parse("2026-11-28T00:00:00Z");
  for (
    const createdAt of [
      "2026-11-26T23:59:59.999Z",
      "2026-11-27T00:30:00+01:00",
      "2026-11-26T22:00:00-05:00",
      "2000-01-01T00:00:00.000000001Z",
      "2024-02-29T23:59:59+00:00",
    ]
  ) {
    const order = Order.fromRaw({
      orderId: "o-1",
      customerId: "c",
      channel: "web",
      items: [{ sku: "S", quantity: 1, unit_price: 1 }],
      total: 1,
      currency: "USD",
      created_at: createdAt,
    }, { now });
    equal(orderKey(order), orderKey({ orderId: "o-1", createdAt }));
    equal(orderKey(order), orderKey({ orderId: order.orderId, createdAt: order.createdAt }));
  }
});
