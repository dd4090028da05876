import assert from "node:assert/strict";
import {
  ALL_FIELDS,
  createSlot,
  FIELD,
  packOrders,
  readBatch,
  unpackOrders,
  writeBatch,
} from "./wire.ts";

const ORDER = Object.freeze({
  orderId: "o-1",
  customerId: "c-1",
  channel: "web",
  items: Object.freeze([Object.freeze({ sku: "A", quantity: 2, unitPrice: 10.5 })]),
  total: 21,
  currency: "USD",
  createdAt: "2026-11-26T20:00:00.000Z",
});

Deno.test("unpackOrders() records reads, `in` and enumeration of fields that were not sent", () => {
  const read = unpackOrders(packOrders([ORDER], FIELD.total | FIELD.channel));
  const order = read.orders[0]!;
  assert.equal(order.total, 21);
  assert.equal(order.channel, "web");
  assert.equal(read.missing(), 0);
  assert.equal("customerId" in order, false);
  assert.equal(read.missing(), FIELD.customerId);
  assert.equal(order.items, undefined);
  assert.equal(read.missing(), FIELD.customerId | FIELD.items);
  assert.ok(Object.isFrozen(order)); // inspects every key: counts as enumeration
  assert.equal(read.missing(), ALL_FIELDS & ~(FIELD.total | FIELD.channel));

  const enumerated = unpackOrders(packOrders([ORDER], FIELD.total));
  JSON.stringify(enumerated.orders[0]);
  assert.equal(enumerated.missing(), ALL_FIELDS & ~FIELD.total);
  const spread = unpackOrders(packOrders([ORDER], 0));
  void { ...spread.orders[0] };
  assert.equal(spread.missing(), ALL_FIELDS);
});

Deno.test("unpackOrders() gives plain frozen orders when every field was sent", () => {
  const { orders, missing } = unpackOrders(packOrders([ORDER], ALL_FIELDS));
  assert.deepEqual(orders, [ORDER]);
  assert.deepEqual(Object.keys(orders[0]!), Object.keys(ORDER));
  assert.ok(Object.isFrozen(orders[0]!.items[0]));
  assert.equal(missing(), 0);
});

Deno.test("writeBatch() and readBatch() carry any string exactly, and reuse a slot", () => {
  const odd = ["\uD800x", "\uFEFFbom", "Ä€😀", "", "\uFFFD", "z".repeat(10_000)];
  const orders = odd.map((s, i) => ({
    ...ORDER,
    orderId: s,
    customerId: `c${s}`,
    items: [{ sku: s, quantity: 1, unitPrice: i }, { sku: "s", quantity: 3, unitPrice: 4 }],
    total: i,
    createdAt: s,
    ...(i % 2 === 1 ? { producedAt: `p${s}` } : {}),
  }));
  const slot = createSlot();
  writeBatch(slot, orders, ALL_FIELDS);
  assert.deepEqual(unpackOrders(readBatch(slot)).orders, orders);
  writeBatch(slot, [ORDER], FIELD.total);
  const batch = readBatch(slot);
  assert.equal(batch.count, 1);
  assert.deepEqual([...batch.totals!], [21]);
  assert.deepEqual(batch.strings, {});
  writeBatch(slot, [], ALL_FIELDS);
  assert.deepEqual(unpackOrders(readBatch(slot)).orders, []);
});

Deno.test("unpackOrders() gives partial orders that cannot be changed and that count descriptors as enumeration", () => {
  const read = unpackOrders(packOrders([ORDER], FIELD.total));
  const order = read.orders[0]! as { total: number; extra?: number };
  assert.throws(() => {
    order.total = 5;
  }, TypeError);
  assert.throws(() => {
    order.extra = 1;
  }, TypeError);
  assert.throws(() => Object.defineProperty(order, "total", { value: 5 }), TypeError);
  assert.equal(order.total, 21);
  assert.equal(read.missing(), 0);
  assert.equal(Object.getOwnPropertyDescriptor(order, "total"), undefined);
  assert.equal(read.missing(), ALL_FIELDS & ~FIELD.total);
  assert.equal(String(order), "[object Object]");
});

Deno.test("unpackOrders() orders kept past their batch keep their values and throw on fields not sent", () => {
  const first = unpackOrders(packOrders([ORDER], FIELD.total | FIELD.customerId));
  const kept = first.orders[0]!;
  first.end();
  // The next batch reuses nothing of the first: the kept order still reads its own values.
  const slot = createSlot();
  writeBatch(slot, [{ ...ORDER, total: 99, customerId: "other" }], FIELD.total | FIELD.customerId);
  const second = unpackOrders(readBatch(slot));
  assert.equal(second.orders[0]!.total, 99);
  assert.equal(kept.total, 21);
  assert.equal(kept.customerId, "c-1");
  assert.throws(() => kept.orderId, TypeError);
  assert.throws(() => "orderId" in kept, TypeError);
  assert.throws(() => Object.keys(kept), TypeError);
  assert.equal(first.missing(), 0);
  assert.equal(second.missing(), 0);
});

Deno.test("writeBatch() with indices writes source[indices[k]], for totals only and for every field", () => {
  const orders = [10, 20, 30, 40].map((total, i) => ({ ...ORDER, orderId: `o-${i}`, total }));
  const slot = createSlot();
  writeBatch(slot, orders, FIELD.total, [3, 1]);
  const totals = unpackOrders(readBatch(slot)).orders.map((o) => o.total);
  assert.deepEqual(totals, [40, 20]);
  writeBatch(slot, orders, ALL_FIELDS, [2, 0, 2]);
  assert.deepEqual(unpackOrders(readBatch(slot)).orders, [orders[2], orders[0], orders[2]]);
  writeBatch(slot, orders, 0, [1, 2]);
  const empty = readBatch(slot);
  assert.equal(empty.count, 2);
  assert.equal(empty.totals, undefined);
});
