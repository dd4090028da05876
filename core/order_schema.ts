/**
 * The JSON Schema (draft 2020-12) of the order event, built from the same patterns and limits
 * `Order.fromRaw` enforces, so the published schema (`schema/order.v1.json`, written by
 * `deno task schema`) cannot drift from the code.
 *
 * JSON Schema cannot express every rule; what it cannot is stated in the `description` of the
 * field concerned and enforced only by `Order.fromRaw`:
 * - `total` must equal the sum of `quantity * unit_price` (to the cent);
 * - money has at most 2 decimal places within a float tolerance (`multipleOf: 0.01` would reject
 *   valid doubles such as 0.29, so it is not used);
 * - timestamps must be real calendar dates, not before 2000-01-01 nor after 9999-12-31 in UTC
 *   (an offset can move a year-9999 text past it), and at most 5 minutes in the future (the
 *   schema checks the RFC 3339 shape only).
 *
 * @module
 */

import {
  CHANNEL_PATTERN,
  CURRENCY_PATTERN,
  CUSTOMER_ID_PATTERN,
  ORDER_ID_PATTERN,
  ORDER_LIMITS,
  ORDER_SCHEMA,
  SKU_PATTERN,
} from "./order.ts";

/**
 * The RFC 3339 shape `Order.fromRaw` accepts for timestamps: `YYYY-MM-DDTHH:MM:SS`, an optional
 * fraction of 1–9 digits, and a zone `Z` or `±HH:MM` (upper-case `T` and `Z`). Calendar
 * validity and the allowed range are checked by `Order.fromRaw` only.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { TIMESTAMP_SHAPE_PATTERN } from "./order_schema.ts";
 * ok(TIMESTAMP_SHAPE_PATTERN.test("2026-11-26T20:00:00.010+01:00"));
 * ok(!TIMESTAMP_SHAPE_PATTERN.test("2026-11-26 20:00:00"));
 * ```
 */
export const TIMESTAMP_SHAPE_PATTERN: RegExp =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/;

/** A JSON Schema document (a plain JSON value). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** `$id` of the order schema. */
export const ORDER_SCHEMA_ID = "urn:orderflow:schema:order.v1";

function pattern(re: RegExp): string {
  if (re.flags !== "") {
    throw new RangeError(`Cannot express /${re.source}/${re.flags} in JSON Schema: flags are set`);
  }
  return re.source;
}

function identifier(re: RegExp, maxLength: number, description: string): JsonSchema {
  return { type: "string", minLength: 1, maxLength, pattern: pattern(re), description };
}

function money(description: string): JsonSchema {
  return {
    type: "number",
    exclusiveMinimum: 0,
    maximum: ORDER_LIMITS.maxAmount,
    description: `${description} Greater than 0, at most ${ORDER_LIMITS.maxAmount}. Not ` +
      `expressible here (enforced by Order.fromRaw): at most ${ORDER_LIMITS.amountDecimals} ` +
      "decimal places, checked on amount * 100 with a 1e-6 float tolerance.",
  };
}

function timestamp(description: string): JsonSchema {
  return {
    type: "string",
    format: "date-time",
    maxLength: ORDER_LIMITS.timestampMaxLength,
    pattern: pattern(TIMESTAMP_SHAPE_PATTERN),
    description: `${description} RFC 3339 with a zone (Z or ±HH:MM). Not expressible here ` +
      "(enforced by Order.fromRaw): a real calendar date and time, not before " +
      `${new Date(ORDER_LIMITS.minTimestampMs).toISOString()} nor after ` +
      `${new Date(ORDER_LIMITS.maxTimestampMs).toISOString()} (in UTC), at most ` +
      `${ORDER_LIMITS.maxClockSkewMs / 60_000} minutes after the time of validation.`,
  };
}

/**
 * Builds the JSON Schema (draft 2020-12) of the order wire format ({@link ORDER_SCHEMA}) from
 * core's exported patterns and {@link ORDER_LIMITS}. Pure: the same object every call (a fresh
 * copy), ready for `JSON.stringify`.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { orderJsonSchema } from "./order_schema.ts";
 * import { ORDER_ID_PATTERN } from "./order.ts";
 * const schema = orderJsonSchema();
 * equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
 * equal(schema.additionalProperties, false);
 * const props = schema.properties as Record<string, { pattern?: string }>;
 * equal(props.orderId?.pattern, ORDER_ID_PATTERN.source);
 * deepEqual(orderJsonSchema(), schema);
 * ```
 */
export function orderJsonSchema(): JsonSchema {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: ORDER_SCHEMA_ID,
    title: ORDER_SCHEMA,
    description: "An order event as published to the orders topic (the Kafka message value; " +
      `header "schema" = "${ORDER_SCHEMA}"). Closed: unknown fields are rejected. Generated from ` +
      "core/order.ts by `deno task schema`; Order.fromRaw is the authority. Rules JSON Schema " +
      "cannot express are stated in the descriptions: total = sum of quantity * unit_price, " +
      "money with at most 2 decimals, timestamp calendar validity and range.",
    type: "object",
    additionalProperties: false,
    required: ["orderId", "customerId", "channel", "items", "total", "currency", "created_at"],
    properties: {
      orderId: identifier(
        ORDER_ID_PATTERN,
        ORDER_LIMITS.orderIdMaxLength,
        "Order ID, also the Kafka key and part of the object key " +
          "(orders/dt=YYYY-MM-DD/orderId=<id>.json): letters, digits, '_' or '-'.",
      ),
      customerId: identifier(
        CUSTOMER_ID_PATTERN,
        ORDER_LIMITS.customerIdMaxLength,
        "Customer ID: letters, digits, '_', '.', ':' or '-'.",
      ),
      channel: identifier(
        CHANNEL_PATTERN,
        ORDER_LIMITS.channelMaxLength,
        "Sales channel; selects the risk scorer plugin (unknown channels use the fallback).",
      ),
      items: {
        type: "array",
        minItems: 1,
        maxItems: ORDER_LIMITS.maxItems,
        description: "Line items.",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["sku", "quantity", "unit_price"],
          properties: {
            sku: identifier(SKU_PATTERN, ORDER_LIMITS.skuMaxLength, "Stock keeping unit."),
            quantity: {
              type: "integer",
              minimum: 1,
              maximum: ORDER_LIMITS.maxQuantity,
              description: "Units ordered.",
            },
            unit_price: money("Price of one unit in currency units."),
          },
        },
      },
      total: {
        ...money("Order total in currency units."),
        description: `${money("Order total in currency units.")
          .description as string} Not expressible here either: must equal the sum of quantity * unit_price over the ` +
          "items, compared in whole cents.",
      },
      currency: {
        type: "string",
        minLength: 3,
        maxLength: 3,
        pattern: pattern(CURRENCY_PATTERN),
        description: "ISO 4217 shape: three upper-case letters (not checked against a list).",
      },
      created_at: timestamp(
        "When the order was placed; its UTC date is the dt= partition of the stored object.",
      ),
      produced_at: timestamp("Optional: when the producer sent the event."),
    },
  };
}
