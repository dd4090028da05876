/**
 * The object key of an order in the sink: Hive-style partitioned by the order's UTC date.
 *
 * @module
 */

import { isCanonicalTimestamp, parseTimestamp } from "./_timestamp.ts";
import { Order, ORDER_ID_PATTERN, type OrderData } from "./order.ts";

/**
 * Returns the UTC calendar date (`YYYY-MM-DD`) of an RFC 3339 timestamp with zone; an offset is
 * converted to UTC first (`2026-11-27T00:30:00+01:00` is `2026-11-26`).
 *
 * Throws `TypeError` if `createdAt` is not a string and `SyntaxError` if it is not a valid
 * timestamp with zone (the same grammar `Order.fromRaw` accepts).
 *
 * @example
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { partitionDate } from "./order_key.ts";
 * equal(partitionDate("2026-11-26T20:00:00.000Z"), "2026-11-26");
 * equal(partitionDate("2026-11-27T00:30:00+01:00"), "2026-11-26");
 * throws(() => partitionDate("2026-11-26"), SyntaxError);
 * ```
 */
export function partitionDate(createdAt: string): string {
  if (typeof createdAt !== "string") {
    throw new TypeError(
      `Cannot derive partition date: createdAt must be a string, got ${typeof createdAt}`,
    );
  }
  const ms = parseTimestamp(createdAt);
  if (Number.isNaN(ms)) {
    throw new SyntaxError(
      `Cannot derive partition date: ${
        JSON.stringify(createdAt.slice(0, 40))
      } is not an ISO-8601 timestamp with a zone`,
    );
  }
  // Already in toISOString() form (always so for an Order's createdAt): the date is its prefix.
  if (isCanonicalTimestamp(createdAt)) return createdAt.slice(0, 10);
  const iso = new Date(ms).toISOString();
  // Years outside 0000–9999 are written with a sign and six digits; refuse them in a key.
  if (iso.length !== 24) {
    throw new RangeError(
      `Cannot derive partition date: year out of range in ${JSON.stringify(createdAt)}`,
    );
  }
  return iso.slice(0, 10);
}

/**
 * Returns the sink object key `orders/dt=YYYY-MM-DD/orderId=<id>.json`. It depends only on the
 * order (never on processing time), so a replay overwrites the same object.
 *
 * Defence in depth: throws `TypeError` if `orderId` does not match `ORDER_ID_PATTERN`, even when
 * the caller did not go through `Order.fromRaw`, so no `..`, `/`, `\` or control character can
 * reach a path. Throws like {@link partitionDate} for a bad `createdAt`.
 *
 * @example
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { orderKey } from "./order_key.ts";
 * equal(
 *   orderKey({ orderId: "ord-000123", createdAt: "2026-11-26T20:00:00.000Z" }),
 *   "orders/dt=2026-11-26/orderId=ord-000123.json",
 * );
 * throws(() => orderKey({ orderId: "../../etc/passwd", createdAt: "2026-11-26T20:00:00Z" }), TypeError);
 * ```
 */
export function orderKey(order: Pick<OrderData, "orderId" | "createdAt">): string {
  const id: unknown = order.orderId;
  if (typeof id !== "string" || !ORDER_ID_PATTERN.test(id)) {
    const shown = typeof id === "string" ? JSON.stringify(id.slice(0, 40)) : typeof id;
    throw new TypeError(
      `Cannot build order key: order ID ${shown} does not match ${ORDER_ID_PATTERN}`,
    );
  }
  // An Order's createdAt is validated and already in toISOString() form: its date is the prefix.
  const dt = Order.isOrder(order) ? order.createdAt.slice(0, 10) : partitionDate(order.createdAt);
  return `orders/dt=${dt}/orderId=${id}.json`;
}
