import { deepEqual, equal, ok } from "node:assert/strict";
import {
  CHANNEL_PATTERN,
  CURRENCY_PATTERN,
  CUSTOMER_ID_PATTERN,
  ORDER_ID_PATTERN,
  ORDER_LIMITS,
  SKU_PATTERN,
} from "./order.ts";
import { parseTimestamp } from "./_timestamp.ts";
import { orderJsonSchema, TIMESTAMP_SHAPE_PATTERN } from "./order_schema.ts";

type Node = Record<string, unknown> & { properties?: Record<string, Node>; items?: Node };

function props(node: Node): Record<string, Node> {
  return node.properties ?? {};
}

Deno.test("orderJsonSchema() takes every pattern from core/order.ts", () => {
  const schema = orderJsonSchema() as Node;
  const p = props(schema);
  equal(p.orderId?.pattern, ORDER_ID_PATTERN.source);
  equal(p.customerId?.pattern, CUSTOMER_ID_PATTERN.source);
  equal(p.channel?.pattern, CHANNEL_PATTERN.source);
  equal(p.currency?.pattern, CURRENCY_PATTERN.source);
  equal(props(p.items?.items ?? {}).sku?.pattern, SKU_PATTERN.source);
});

Deno.test("orderJsonSchema() takes every limit from ORDER_LIMITS", () => {
  const p = props(orderJsonSchema() as Node);
  const item = props(p.items?.items ?? {});
  equal(p.orderId?.maxLength, ORDER_LIMITS.orderIdMaxLength);
  equal(p.customerId?.maxLength, ORDER_LIMITS.customerIdMaxLength);
  equal(p.channel?.maxLength, ORDER_LIMITS.channelMaxLength);
  equal(item.sku?.maxLength, ORDER_LIMITS.skuMaxLength);
  equal(p.items?.maxItems, ORDER_LIMITS.maxItems);
  equal(item.quantity?.maximum, ORDER_LIMITS.maxQuantity);
  equal(item.unit_price?.maximum, ORDER_LIMITS.maxAmount);
  equal(p.total?.maximum, ORDER_LIMITS.maxAmount);
  equal(p.created_at?.maxLength, ORDER_LIMITS.timestampMaxLength);
});

Deno.test("orderJsonSchema() is closed and requires the fields Order.fromRaw requires", () => {
  const schema = orderJsonSchema() as Node;
  equal(schema.additionalProperties, false);
  equal(schema.items, undefined);
  equal(props(schema).items?.items?.additionalProperties, false);
  deepEqual(schema.required, [
    "orderId",
    "customerId",
    "channel",
    "items",
    "total",
    "currency",
    "created_at",
  ]);
  ok(!(schema.required as string[]).includes("produced_at"));
});

Deno.test("orderJsonSchema() states the rules JSON Schema cannot express", () => {
  const p = props(orderJsonSchema() as Node);
  ok(String(p.total?.description).includes("sum of quantity * unit_price"));
  ok(String(p.total?.description).includes("2 decimal places"));
  ok(String(props(p.items?.items ?? {}).unit_price?.description).includes("2 decimal places"));
  ok(String(p.created_at?.description).includes("2000-01-01T00:00:00.000Z"));
  ok(String(p.created_at?.description).includes("5 minutes"));
  ok(String(p.created_at?.description).includes("nor after 9999-12-31T23:59:59.999Z"));
});

Deno.test("TIMESTAMP_SHAPE_PATTERN accepts what parseTimestamp() parses and rejects the shapes it refuses", () => {
  const accepted = [
    "2026-11-26T20:00:00Z",
    "2026-11-26T20:00:00.1Z",
    "2026-11-26T20:00:00.123456789+05:30",
    "2026-11-26T20:00:00-01:00",
  ];
  for (const text of accepted) {
    ok(!Number.isNaN(parseTimestamp(text)), text);
    ok(TIMESTAMP_SHAPE_PATTERN.test(text), text);
  }
  const rejected = [
    "2026-11-26T20:00:00",
    "2026-11-26 20:00:00Z",
    "2026-11-26t20:00:00z",
    "2026-11-26T20:00:00.1234567890Z",
    "2026-11-26T20:00:00+0100",
    "20261126T200000Z",
  ];
  for (const text of rejected) {
    ok(Number.isNaN(parseTimestamp(text)), text);
    ok(!TIMESTAMP_SHAPE_PATTERN.test(text), text);
  }
});
