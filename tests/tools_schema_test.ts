/**
 * `schema/order.v1.json` is current, and the schema agrees with `Order.fromRaw` on every rule
 * JSON Schema can express (checked with ajv's draft 2020-12 validator); on the rules it cannot
 * express, the schema accepts and `Order.fromRaw` rejects, as its descriptions say.
 */
import { equal, ok } from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { Order, OrderValidationError } from "../core/order.ts";
import { orderJsonSchema } from "../core/order_schema.ts";
import { SCHEMA_PATH, schemaText } from "../tools/schema.ts";

const NOW = Date.parse("2026-11-26T20:00:00Z");

function valid(): Record<string, unknown> {
  return {
    orderId: "ord-000123",
    customerId: "cust-42",
    channel: "web",
    items: [{ sku: "SKU-1", quantity: 2, unit_price: 10.5 }, {
      sku: "SKU.2:x",
      quantity: 1,
      unit_price: 0.29,
    }],
    total: 21.29,
    currency: "USD",
    created_at: "2026-11-26T19:00:00.000Z",
    produced_at: "2026-11-26T19:00:00.010+01:00",
  };
}

function item(overrides: Record<string, unknown>): Record<string, unknown> {
  return { sku: "SKU-1", quantity: 1, unit_price: 5, ...overrides };
}

function withItems(items: unknown[], total: number): Record<string, unknown> {
  return { ...valid(), items, total };
}

function fromRawAccepts(raw: unknown): boolean {
  try {
    Order.fromRaw(raw, { now: NOW });
    return true;
  } catch (error) {
    if (error instanceof OrderValidationError) return false;
    throw error;
  }
}

// "date-time" is an annotation here (draft 2020-12 default); the pattern checks the shape.
const ajv = new Ajv2020({ allErrors: true, strict: true, formats: { "date-time": true } });
const validate = ajv.compile(orderJsonSchema());

Deno.test("schema/order.v1.json equals the generated schema (run `deno task schema`)", async () => {
  const committed = await Deno.readTextFile(new URL(`../${SCHEMA_PATH}`, import.meta.url));
  equal(committed, schemaText());
});

Deno.test("orderJsonSchema() compiles under ajv's strict draft 2020-12 mode", () => {
  equal(typeof validate, "function");
});

/** Both must accept or both reject. */
const agreeing: Record<string, { raw: unknown; ok: boolean }> = {
  "a valid order": { raw: valid(), ok: true },
  "no produced_at": { raw: { ...valid(), produced_at: undefined }, ok: true },
  "a 64-character orderId": { raw: { ...valid(), orderId: "a".repeat(64) }, ok: true },
  "a 65-character orderId": { raw: { ...valid(), orderId: "a".repeat(65) }, ok: false },
  "a path in orderId": { raw: { ...valid(), orderId: "../etc" }, ok: false },
  "a dot in orderId": { raw: { ...valid(), orderId: "ord.1" }, ok: false },
  "an empty orderId": { raw: { ...valid(), orderId: "" }, ok: false },
  "a numeric orderId": { raw: { ...valid(), orderId: 123 }, ok: false },
  "a customerId with : and .": { raw: { ...valid(), customerId: "crm:eu.42" }, ok: true },
  "an upper-case channel": { raw: { ...valid(), channel: "Web" }, ok: false },
  "a 33-character channel": { raw: { ...valid(), channel: "w".repeat(33) }, ok: false },
  "a lower-case currency": { raw: { ...valid(), currency: "usd" }, ok: false },
  "an unknown field": { raw: { ...valid(), coupon: "X" }, ok: false },
  "an unknown item field": { raw: withItems([item({ unitPrice: 5 })], 5), ok: false },
  "a missing created_at": { raw: { ...valid(), created_at: undefined }, ok: false },
  "a missing total": { raw: { ...valid(), total: undefined }, ok: false },
  "no items": { raw: withItems([], 5), ok: false },
  "1000 items": { raw: withItems(Array.from({ length: 1000 }, () => item({})), 5000), ok: true },
  "1001 items": { raw: withItems(Array.from({ length: 1001 }, () => item({})), 5005), ok: false },
  "quantity 10000": { raw: withItems([item({ quantity: 10000 })], 50000), ok: true },
  "quantity 10001": { raw: withItems([item({ quantity: 10001 })], 50005), ok: false },
  "quantity 0": { raw: withItems([item({ quantity: 0 })], 5), ok: false },
  "quantity 1.5": { raw: withItems([item({ quantity: 1.5 })], 7.5), ok: false },
  "unit_price 0": { raw: withItems([item({ unit_price: 0 })], 5), ok: false },
  "a negative unit_price": { raw: withItems([item({ unit_price: -5 })], 5), ok: false },
  "unit_price above the maximum": {
    raw: withItems([item({ unit_price: 10_000_001 })], 10_000_001),
    ok: false,
  },
  "unit_price at the maximum": {
    raw: withItems([item({ unit_price: 10_000_000 })], 10_000_000),
    ok: true,
  },
  "a string total": { raw: { ...valid(), total: "21.29" }, ok: false },
  "a timestamp without a zone": {
    raw: { ...valid(), created_at: "2026-11-26T19:00:00" },
    ok: false,
  },
  "a timestamp with a space": {
    raw: { ...valid(), created_at: "2026-11-26 19:00:00Z" },
    ok: false,
  },
  "an offset timestamp": { raw: { ...valid(), created_at: "2026-11-26T20:00:00+01:00" }, ok: true },
  "an array": { raw: [valid()], ok: false },
  "null": { raw: null, ok: false },
};

for (const [name, { raw, ok: expected }] of Object.entries(agreeing)) {
  Deno.test(`orderJsonSchema() and Order.fromRaw() agree on ${name}`, () => {
    // JSON round trip: drops the undefined fields, as on the wire.
    const wire = JSON.parse(JSON.stringify(raw));
    equal(validate(wire), expected, `schema: ${JSON.stringify(validate.errors)}`);
    equal(fromRawAccepts(wire), expected, "Order.fromRaw");
  });
}

/** The schema cannot express these (see its descriptions): it accepts, fromRaw rejects. */
const beyondSchema: Record<string, unknown> = {
  "a total that is not the sum of the items": { ...valid(), total: 21.3 },
  "3 decimal places": withItems([item({ unit_price: 5.001 })], 5.001),
  "February 30": { ...valid(), created_at: "2026-02-30T10:00:00Z" },
  "a date before 2000": { ...valid(), created_at: "1999-12-31T23:59:59Z" },
  "a date 10 minutes in the future": { ...valid(), created_at: "2026-11-26T20:10:00Z" },
};

for (const [name, raw] of Object.entries(beyondSchema)) {
  Deno.test(`Order.fromRaw() rejects ${name}, which the schema documents but cannot check`, () => {
    ok(validate(raw), JSON.stringify(validate.errors));
    ok(!fromRawAccepts(raw));
  });
}
