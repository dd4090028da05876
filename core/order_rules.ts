/**
 * The rules of the order event: its schema identifier, the patterns its identifiers must match
 * and the limits {@link Order.fromRaw} enforces. `order_schema.ts` publishes the same rules as
 * JSON Schema. Import them from `order.ts` (or `mod.ts`), which re-exports them.
 *
 * @module
 */

import { TIMESTAMP_MAX_LENGTH } from "./_timestamp.ts";

/** Schema identifier of the order event (also sent as the Kafka header `schema`). */
export const ORDER_SCHEMA = "orderflow.order.v1";

/**
 * Allowed order IDs: an ASCII letter or digit, then up to 63 letters, digits, `_` or `-`.
 * No dots, slashes, backslashes, spaces, control characters or non-ASCII lookalikes, so an ID
 * is always safe inside an object key or a file name.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { ORDER_ID_PATTERN } from "./order.ts";
 * ok(ORDER_ID_PATTERN.test("ord-000123"));
 * ok(!ORDER_ID_PATTERN.test("../etc"));
 * ```
 */
export const ORDER_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Allowed customer IDs: like order IDs, additionally allowing `.` and `:` inside. */
export const CUSTOMER_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Allowed SKUs: an ASCII letter or digit, then up to 63 letters, digits, `_`, `.`, `:` or `-`. */
export const SKU_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Allowed channels: a lower-case letter, then up to 31 lower-case letters, digits, `_`, `-`. */
export const CHANNEL_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,31}$/;

/** Allowed currencies: three upper-case ASCII letters (ISO 4217 shape; not checked against a list). */
export const CURRENCY_PATTERN: RegExp = /^[A-Z]{3}$/;

/**
 * Limits enforced by {@link Order.fromRaw}.
 *
 * - Money (`unit_price`, `total`) is in currency units, must be `> 0`, `<= maxAmount`, and have
 *   at most 2 decimal places (checked on `amount * 100` with a 1e-6 float tolerance, so
 *   `0.1 + 0.2` counts as `0.30` while `10.001` is rejected).
 * - `total` must equal the sum of `quantity * unit_price` within `totalTolerance` (half a cent);
 *   since both sides are whole cents this means equal in cents.
 * - Timestamps must not be earlier than `minTimestampMs` (2000-01-01T00:00:00Z) nor later than
 *   `now + maxClockSkewMs` (5 minutes) or `maxTimestampMs` (9999-12-31T23:59:59.999Z), the last
 *   instant whose `toISOString()` starts with a four-digit year (`created_at`'s UTC date becomes
 *   the `dt=` segment of an object key). `now` alone does not bound them: the consumer passes the
 *   record's Kafka timestamp, which the producer chose, and an offset such as `-23:59` moves a
 *   year-9999 text into year 10000.
 * - At most `maxIssues` problems are listed in an error; the rest are counted in `omitted`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ORDER_LIMITS } from "./order.ts";
 * equal(ORDER_LIMITS.maxItems, 1000);
 * ```
 */
export const ORDER_LIMITS = Object.freeze(
  {
    /** Longest order ID (also encoded in {@link ORDER_ID_PATTERN}). */
    orderIdMaxLength: 64,
    /** Longest customer ID. */
    customerIdMaxLength: 64,
    /** Longest SKU. */
    skuMaxLength: 64,
    /** Longest channel name. */
    channelMaxLength: 32,
    /** Most items in one order. */
    maxItems: 1000,
    /** Largest quantity of one item (quantities are integers >= 1). */
    maxQuantity: 10_000,
    /** Largest unit price and largest total, in currency units. */
    maxAmount: 10_000_000,
    /** Decimal places allowed in money amounts. */
    amountDecimals: 2,
    /** Allowed difference between `total` and the sum of the items: half a cent. */
    totalTolerance: 0.005,
    /** Longest timestamp text. */
    timestampMaxLength: TIMESTAMP_MAX_LENGTH,
    /** Earliest accepted timestamp: 2000-01-01T00:00:00.000Z. */
    minTimestampMs: 946_684_800_000,
    /** Latest accepted timestamp: 9999-12-31T23:59:59.999Z (after it, ISO years get 6 digits). */
    maxTimestampMs: 253_402_300_799_999,
    /** How far in the future (relative to `now`) a timestamp may be: 5 minutes. */
    maxClockSkewMs: 300_000,
    /** Most issues listed in one {@link OrderValidationError}. */
    maxIssues: 100,
  } as const,
);
