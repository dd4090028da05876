import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  Order,
  ORDER_LIMITS,
  type OrderIssue,
  OrderValidationError,
  type RawOrder,
  toRawOrder,
} from "./order.ts";

const NOW = Date.parse("2026-11-26T20:00:00.000Z");

function valid(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    orderId: "ord-000123",
    customerId: "cust-42",
    channel: "web",
    items: [
      { sku: "SKU-1", quantity: 2, unit_price: 10.5 },
      { sku: "SKU-2", quantity: 1, unit_price: 0.1 },
    ],
    total: 21.1,
    currency: "USD",
    created_at: "2026-11-26T19:59:00.000Z",
    ...overrides,
  };
}

function issuesOf(raw: unknown, now = NOW): readonly OrderIssue[] {
  try {
    Order.fromRaw(raw, { now });
  } catch (error) {
    ok(error instanceof OrderValidationError, `expected OrderValidationError, got ${error}`);
    return error.issues;
  }
  throw new TypeError("expected Order.fromRaw() to throw");
}

function paths(raw: unknown, now = NOW): string[] {
  return issuesOf(raw, now).map((i) => i.path);
}

Deno.test("Order.fromRaw() accepts a valid order and maps fields", () => {
  const order = Order.fromRaw(valid(), { now: NOW });
  equal(order.orderId, "ord-000123");
  equal(order.customerId, "cust-42");
  equal(order.channel, "web");
  equal(order.total, 21.1);
  equal(order.currency, "USD");
  equal(order.createdAt, "2026-11-26T19:59:00.000Z");
  equal("producedAt" in order, false);
  deepEqual(order.items, [
    { sku: "SKU-1", quantity: 2, unitPrice: 10.5 },
    { sku: "SKU-2", quantity: 1, unitPrice: 0.1 },
  ]);
  ok(order instanceof Order);
});

Deno.test("Order.fromRaw() returns a deeply frozen value", () => {
  const order = Order.fromRaw(valid(), { now: NOW });
  ok(Object.isFrozen(order));
  ok(Object.isFrozen(order.items));
  ok(order.items.every((item) => Object.isFrozen(item)));
  throws(() => {
    (order as { total: number }).total = 1;
  }, TypeError);
  throws(() => {
    (order.items as unknown as unknown[]).push({});
  }, TypeError);
});

Deno.test("Order.fromRaw() does not keep references to the input", () => {
  const raw = valid();
  const order = Order.fromRaw(raw, { now: NOW });
  (raw.items as Record<string, unknown>[])[0]!.quantity = 99;
  equal(order.items[0]?.quantity, 2);
});

Deno.test("Order.toJSON() round-trips through JSON to an equal order", () => {
  const order = Order.fromRaw(valid({ produced_at: "2026-11-26T19:59:00.010Z" }), { now: NOW });
  const wire: RawOrder = JSON.parse(JSON.stringify(order));
  deepEqual(wire, { ...valid(), produced_at: "2026-11-26T19:59:00.010Z" });
  deepEqual(Order.fromRaw(wire, { now: NOW }), order);
  equal(order.producedAt, "2026-11-26T19:59:00.010Z");
});

Deno.test("Order.toJSON() omits produced_at when absent", () => {
  const wire = Order.fromRaw(valid(), { now: NOW }).toJSON();
  equal("produced_at" in wire, false);
  deepEqual(Object.keys(wire), [
    "orderId",
    "customerId",
    "channel",
    "items",
    "total",
    "currency",
    "created_at",
  ]);
});

Deno.test("Order.fromData() re-validates data that crossed structuredClone", () => {
  const order = Order.fromRaw(valid(), { now: NOW });
  const clone = structuredClone(toRawOrder(order));
  deepEqual(Order.fromRaw(clone, { now: NOW }), order);
  const data = structuredClone({ ...order });
  deepEqual(Order.fromData(data, { now: NOW }), order);
  throws(() => Order.fromData({ ...data, orderId: "a/b" }, { now: NOW }), OrderValidationError);
});

Deno.test("Order.fromRaw() rejects non-object roots", () => {
  for (const root of [null, undefined, 1, "x", true, [], [valid()], new Date(), new Map()]) {
    const issues = issuesOf(root);
    equal(issues.length, 1, `root ${String(root)}`);
    equal(issues[0]?.path, "$");
  }
  equal(issuesOf(null)[0]?.message, "must be a JSON object, got null");
  equal(issuesOf([])[0]?.message, "must be a JSON object, got array");
});

Deno.test("Order.fromRaw() accepts a null-prototype object", () => {
  const raw = Object.assign(Object.create(null), valid());
  equal(Order.fromRaw(raw, { now: NOW }).orderId, "ord-000123");
});

Deno.test("Order.fromRaw() reports every missing field at once", () => {
  deepEqual(paths({}), [
    "orderId",
    "customerId",
    "channel",
    "items",
    "total",
    "currency",
    "created_at",
  ]);
  ok(issuesOf({}).every((i) => i.message === "is required"));
});

Deno.test("Order.fromRaw() reports wrong types by path", () => {
  const issues = issuesOf(
    valid({ orderId: 7, customerId: null, channel: ["web"], items: {}, total: "21", currency: 1 }),
  );
  deepEqual(issues.map((i) => `${i.path}: ${i.message}`), [
    "orderId: must be a string, got number 7",
    "customerId: must be a string, got null",
    "channel: must be a string, got array",
    "items: must be an array, got object",
    "total: must be a number, got string",
    "currency: must be a string, got number 1",
  ]);
});

Deno.test("Order.fromRaw() rejects NaN, Infinity, zero and negative amounts", () => {
  for (const bad of [NaN, Infinity, -Infinity, 0, -0, -1, -0.01]) {
    deepEqual(paths(valid({ total: bad })), ["total"], `total ${bad}`);
    deepEqual(
      paths(valid({ items: [{ sku: "A", quantity: 1, unit_price: bad }], total: 1 })),
      ["items[0].unit_price"],
      `unit_price ${bad}`,
    );
  }
});

Deno.test("Order.fromRaw() rejects amounts above ORDER_LIMITS.maxAmount", () => {
  const big = ORDER_LIMITS.maxAmount + 1;
  deepEqual(paths(valid({ items: [{ sku: "A", quantity: 1, unit_price: big }], total: big })), [
    "items[0].unit_price",
    "total",
  ]);
  const max = ORDER_LIMITS.maxAmount;
  equal(
    Order.fromRaw(valid({ items: [{ sku: "A", quantity: 1, unit_price: max }], total: max }), {
      now: NOW,
    }).total,
    max,
  );
});

Deno.test("Order.fromRaw() rejects amounts with more than 2 decimals", () => {
  deepEqual(paths(valid({ items: [{ sku: "A", quantity: 1, unit_price: 10.001 }], total: 10 })), [
    "items[0].unit_price",
  ]);
  deepEqual(paths(valid({ total: 21.105 })), ["total"]);
  equal(
    issuesOf(valid({ total: 21.105 }))[0]?.message,
    "must have at most 2 decimal places, got 21.105",
  );
});

Deno.test("Order.fromRaw() tolerates float noise in 2-decimal amounts", () => {
  const price = 0.1 + 0.2; // 0.30000000000000004
  const order = Order.fromRaw(
    valid({ items: [{ sku: "A", quantity: 3, unit_price: price }], total: 0.9 }),
    { now: NOW },
  );
  equal(order.total, 0.9);
  // 19.99 * 3 = 59.97000000000001 in floating point; the cent sum is exact.
  Order.fromRaw(valid({ items: [{ sku: "A", quantity: 3, unit_price: 19.99 }], total: 59.97 }), {
    now: NOW,
  });
});

Deno.test("Order.fromRaw() rejects a total that disagrees with the items by a cent", () => {
  const issues = issuesOf(valid({ total: 21.11 }));
  deepEqual(issues.map((i) => i.path), ["total"]);
  equal(issues[0]?.message, "must equal the sum of quantity * unit_price (21.10), got 21.11");
  deepEqual(paths(valid({ total: 21.09 })), ["total"]);
});

Deno.test("Order.fromRaw() rejects non-integer, zero, negative and huge quantities", () => {
  for (const bad of [1.5, 0, -1, NaN, Infinity, ORDER_LIMITS.maxQuantity + 1, "2"]) {
    deepEqual(
      paths(valid({ items: [{ sku: "A", quantity: bad, unit_price: 1 }], total: 1 })),
      ["items[0].quantity"],
      `quantity ${String(bad)}`,
    );
  }
});

Deno.test("Order.fromRaw() rejects empty items", () => {
  deepEqual(issuesOf(valid({ items: [] })), [
    { path: "items", message: "must contain at least 1 item" },
  ]);
});

Deno.test("Order.fromRaw() rejects too many items without reading them", () => {
  let reads = 0;
  const items = new Array(ORDER_LIMITS.maxItems + 1);
  const trap = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === "string" && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  deepEqual(issuesOf(valid({ items: trap })), [
    { path: "items", message: "must contain at most 1000 items, got 1001" },
  ]);
  equal(reads, 0);
  const huge = new Array(10_000_000);
  deepEqual(paths(valid({ items: huge })), ["items"]);
});

Deno.test("Order.fromRaw() accepts exactly ORDER_LIMITS.maxItems items", () => {
  const items = Array.from({ length: ORDER_LIMITS.maxItems }, (_, i) => ({
    sku: `S${i}`,
    quantity: 1,
    unit_price: 1.01,
  }));
  const order = Order.fromRaw(valid({ items, total: 1010 }), { now: NOW });
  equal(order.items.length, 1000);
});

Deno.test("Order.fromRaw() reports bad items with indexed paths", () => {
  const items = [
    { sku: "A", quantity: 1, unit_price: 1 },
    null,
    { sku: "", quantity: 1, unit_price: 1 },
    { sku: "B", quantity: 1 },
    "x",
  ];
  deepEqual(issuesOf(valid({ items, total: 1 })), [
    { path: "items[1]", message: "must be an object, got null" },
    { path: "items[2].sku", message: "must not be empty" },
    { path: "items[3].unit_price", message: "is required" },
    { path: "items[4]", message: "must be an object, got string" },
  ]);
});

Deno.test("Order.fromRaw() rejects unknown fields by name (closed schema)", () => {
  const issues = issuesOf(
    valid({
      nested: { a: { b: { c: {} } } },
      "bad key\n": 1,
      items: [{ sku: "A", quantity: 1, unit_price: 1, unitPrice: 1 }],
      total: 1,
    }),
  );
  deepEqual(issues.map((i) => i.path), ["nested", '$["bad key\\n"]', "items[0].unitPrice"]);
  ok(issues[0]!.message.includes("schema is closed"));
});

Deno.test("Order.fromRaw() rejects an own __proto__ key from JSON", () => {
  const raw = JSON.parse(JSON.stringify(valid()).replace("{", '{"__proto__":{"x":1},'));
  deepEqual(paths(raw), ["__proto__"]);
});

Deno.test("Order.fromRaw() ignores fields inherited from a polluted prototype", () => {
  const raw = Object.create({ orderId: "ord-1" });
  equal(paths(raw).length, 1); // not a plain object
  const plain: Record<string, unknown> = valid();
  delete plain.orderId;
  Object.defineProperty(Object.prototype, "orderId", { value: "evil", configurable: true });
  try {
    deepEqual(paths(plain), ["orderId"]);
  } finally {
    delete (Object.prototype as Record<string, unknown>).orderId;
  }
});

Deno.test("Order.fromRaw() reads each field once", () => {
  let reads = 0;
  const raw = valid();
  let first = true;
  Object.defineProperty(raw, "orderId", {
    enumerable: true,
    get() {
      reads++;
      const value = first ? "ord-1" : "../evil";
      first = false;
      return value;
    },
  });
  equal(Order.fromRaw(raw, { now: NOW }).orderId, "ord-1");
  equal(reads, 1);
});

Deno.test("Order.fromRaw() rejects unsafe and lookalike order IDs", () => {
  const bad = [
    "..",
    "../etc",
    "a/b",
    "a\\b",
    "a.b",
    "a\nb",
    "a\u0000b",
    " ord",
    "-ord",
    "_ord",
    "ord 1",
    "оrd-1", // Cyrillic о
    "ord\u20131", // en dash
    "ｏrd", // full-width o
    "ord\u200b1", // zero-width space
    "x".repeat(65),
    "",
  ];
  for (const id of bad) deepEqual(paths(valid({ orderId: id })), ["orderId"], JSON.stringify(id));
  Order.fromRaw(valid({ orderId: "A".repeat(64) }), { now: NOW });
  Order.fromRaw(valid({ orderId: "0_a-B" }), { now: NOW });
});

Deno.test("Order.fromRaw() rejects overlong strings before matching them", () => {
  const long = "a".repeat(1_000_000);
  const issues = issuesOf(
    valid({ orderId: long, customerId: long, channel: long, currency: long }),
  );
  deepEqual(issues.map((i) => i.message), [
    "must be at most 64 characters, got 1000000",
    "must be at most 64 characters, got 1000000",
    "must be at most 32 characters, got 1000000",
    "must be at most 3 characters, got 1000000",
  ]);
});

Deno.test("Order.fromRaw() validates channel and currency formats", () => {
  deepEqual(paths(valid({ channel: "Web" })), ["channel"]);
  deepEqual(paths(valid({ channel: "1web" })), ["channel"]);
  Order.fromRaw(valid({ channel: "partner_eu-2" }), { now: NOW });
  deepEqual(paths(valid({ currency: "usd" })), ["currency"]);
  deepEqual(paths(valid({ currency: "US" })), ["currency"]);
});

Deno.test("Order.fromRaw() normalises created_at to UTC toISOString()", () => {
  const cases: [string, string][] = [
    ["2026-11-26T19:59:00Z", "2026-11-26T19:59:00.000Z"],
    ["2026-11-26T20:59:00+01:00", "2026-11-26T19:59:00.000Z"],
    ["2026-11-26T14:29:00.5-05:30", "2026-11-26T19:59:00.500Z"],
    ["2026-11-26T19:59:00.123456789Z", "2026-11-26T19:59:00.123Z"],
    ["2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"],
  ];
  for (const [input, expected] of cases) {
    equal(Order.fromRaw(valid({ created_at: input }), { now: NOW }).createdAt, expected);
  }
});

Deno.test("Order.fromRaw() rejects unparseable or zone-less created_at", () => {
  const bad = [
    "2026-11-26",
    "2026-11-26T19:59:00",
    "2026-11-26 19:59:00Z",
    "2026-11-26t19:59:00z",
    "2026-13-01T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-11-26T24:00:00Z",
    "2026-11-26T23:59:60Z",
    "2026-11-26T19:59:00+24:00",
    "2026-11-26T19:59:00.Z",
    "2026-11-26T19:59:00.1234567890Z",
    "Thu, 26 Nov 2026 19:59:00 GMT",
    "1764187140000",
    "",
    "9".repeat(100_000),
  ];
  for (const text of bad) {
    deepEqual(paths(valid({ created_at: text })), ["created_at"], JSON.stringify(text));
  }
  deepEqual(paths(valid({ created_at: 1764187140000 })), ["created_at"]);
});

Deno.test("Order.fromRaw() rejects created_at before 2000 or too far in the future", () => {
  deepEqual(paths(valid({ created_at: "1999-12-31T23:59:59.999Z" })), ["created_at"]);
  Order.fromRaw(valid({ created_at: "2000-01-01T00:00:00Z" }), { now: NOW });
  Order.fromRaw(valid({ created_at: "2026-11-26T20:05:00.000Z" }), { now: NOW });
  const issues = issuesOf(valid({ created_at: "2026-11-26T20:05:00.001Z" }));
  deepEqual(issues.map((i) => i.path), ["created_at"]);
  ok(issues[0]!.message.includes("5 minutes in the future"));
  deepEqual(paths(valid({ created_at: "0099-01-01T00:00:00Z" })), ["created_at"]);
});

Deno.test("Order.fromRaw() rejects timestamps whose UTC year is past 9999, whatever now is", () => {
  // The consumer judges "the future" by the record's Kafka timestamp, which a producer sets; a
  // negative offset can still push 9999-12-31 into year 10000, whose ISO form has no YYYY prefix.
  const farFuture = Date.parse("9999-12-31T23:59:59.999Z") + 86_400_000;
  const lastMs = "9999-12-31T23:59:59.999Z";
  for (const text of ["9999-12-31T23:59:59.999-23:59", "9999-12-31T23:59:59.999-00:01"]) {
    for (const field of ["created_at", "produced_at"]) {
      const issues = issuesOf(valid({ [field]: text }), farFuture);
      deepEqual(issues.map((i) => i.path), [field], `${field} ${text}`);
      ok(issues[0]!.message.includes(`must not be after ${lastMs}`), issues[0]!.message);
    }
  }
  const order = Order.fromRaw(
    valid({ created_at: lastMs, produced_at: "9999-12-31T23:59:59+00:00" }),
    {
      now: farFuture,
    },
  );
  equal(order.createdAt, lastMs);
  equal(order.producedAt, "9999-12-31T23:59:59.000Z");
});

Deno.test("Order.fromRaw() validates produced_at like created_at when present", () => {
  deepEqual(paths(valid({ produced_at: "soon" })), ["produced_at"]);
  deepEqual(paths(valid({ produced_at: null })), ["produced_at"]);
  deepEqual(paths(valid({ produced_at: "2026-11-26T21:00:00Z" })), ["produced_at"]);
  equal(
    Order.fromRaw(valid({ produced_at: "2026-11-26T20:00:00+00:00" }), { now: NOW }).producedAt,
    "2026-11-26T20:00:00.000Z",
  );
  equal("producedAt" in Order.fromRaw(valid({ produced_at: undefined }), { now: NOW }), false);
});

Deno.test("Order.fromRaw() uses Date.now() when now is omitted", () => {
  const soon = new Date(Date.now() + 60_000).toISOString();
  equal(Order.fromRaw(valid({ created_at: soon })).createdAt, soon);
  const later = new Date(Date.now() + 3_600_000).toISOString();
  throws(() => Order.fromRaw(valid({ created_at: later })), OrderValidationError);
});

Deno.test("Order.fromRaw() throws RangeError for a non-finite now", () => {
  throws(() => Order.fromRaw(valid(), { now: NaN }), RangeError);
});

Deno.test("OrderValidationError lists issues in a readable message", () => {
  try {
    Order.fromRaw(valid({ total: -1, currency: "usd" }), { now: NOW });
    throw new TypeError("unreachable");
  } catch (error) {
    ok(error instanceof OrderValidationError);
    ok(error instanceof TypeError);
    equal(error.name, "OrderValidationError");
    equal(error.orderId, "ord-000123");
    equal(
      error.message,
      'Cannot accept order "ord-000123": 2 problems\n' +
        "  - total: must be greater than 0, got -1\n" +
        '  - currency: must be three upper-case letters such as USD, got "usd"',
    );
    ok(Object.isFrozen(error.issues));
  }
});

Deno.test("OrderValidationError caps the listed issues and counts the rest", () => {
  const items = Array.from({ length: 300 }, () => ({ sku: "", quantity: 0, unit_price: 0 }));
  try {
    Order.fromRaw(valid({ items }), { now: NOW });
    throw new TypeError("unreachable");
  } catch (error) {
    ok(error instanceof OrderValidationError);
    equal(error.issues.length, ORDER_LIMITS.maxIssues);
    equal(error.omitted, 900 - ORDER_LIMITS.maxIssues);
    ok(error.message.startsWith('Cannot accept order "ord-000123": 900 problems'));
    ok(error.message.endsWith(`... and ${900 - ORDER_LIMITS.maxIssues} more`));
  }
});

Deno.test("OrderValidationError previews hostile values escaped and truncated", () => {
  const issues = issuesOf(valid({ channel: "\u001b[31mred", orderId: "a.".repeat(30) }));
  equal(issues[1]?.message.includes("\u001b"), false);
  ok(issues[1]!.message.endsWith('got "\\u001b[31mred"'));
  ok(issues[0]!.message.endsWith(`got ${JSON.stringify("a.".repeat(16))}...`));
});
