/**
 * The order's two shapes: the wire JSON ({@link RawOrder}, snake_case, schema
 * {@link ORDER_SCHEMA}) and the validated fields ({@link OrderData}, camelCase), and
 * {@link toRawOrder} from the second to the first. Import them from `order.ts` (or `mod.ts`).
 *
 * @module
 */

/** One line item on the wire. */
export interface RawOrderItem {
  /** Stock keeping unit, see {@link SKU_PATTERN}. */
  readonly sku: string;
  /** Integer, 1 to `ORDER_LIMITS.maxQuantity`. */
  readonly quantity: number;
  /** Price of one unit in currency units, > 0, at most 2 decimals. */
  readonly unit_price: number;
}

/**
 * The wire JSON of an order event (schema {@link ORDER_SCHEMA}).
 *
 * @example
 * ```ts
 * import type { RawOrder } from "./order.ts";
 * const raw: RawOrder = {
 *   orderId: "ord-000123", customerId: "cust-42", channel: "web",
 *   items: [{ sku: "SKU-1", quantity: 2, unit_price: 10.5 }], total: 21, currency: "USD",
 *   created_at: "2026-11-26T20:00:00.000Z",
 * };
 * ```
 */
export interface RawOrder {
  /** See {@link ORDER_ID_PATTERN}. */
  readonly orderId: string;
  /** See {@link CUSTOMER_ID_PATTERN}. */
  readonly customerId: string;
  /** Sales channel, selects the risk scorer; see {@link CHANNEL_PATTERN}. */
  readonly channel: string;
  /** 1 to `ORDER_LIMITS.maxItems` items. */
  readonly items: readonly RawOrderItem[];
  /** Sum of `quantity * unit_price` (to the cent). */
  readonly total: number;
  /** See {@link CURRENCY_PATTERN}. */
  readonly currency: string;
  /** RFC 3339 timestamp with zone. */
  readonly created_at: string;
  /** Optional RFC 3339 timestamp with zone, set by the producer when it sent the event. */
  readonly produced_at?: string;
}

/** A validated line item (frozen). */
export interface OrderItem {
  /** Stock keeping unit. */
  readonly sku: string;
  /** Integer >= 1. */
  readonly quantity: number;
  /** Price of one unit in currency units. */
  readonly unitPrice: number;
}

/** The validated order fields (camelCase); what scorers and sinks see. */
export interface OrderData {
  /** Matches {@link ORDER_ID_PATTERN}. */
  readonly orderId: string;
  /** Matches {@link CUSTOMER_ID_PATTERN}. */
  readonly customerId: string;
  /** Matches {@link CHANNEL_PATTERN}. */
  readonly channel: string;
  /** Non-empty, frozen. */
  readonly items: readonly OrderItem[];
  /** Equals the sum of the items to the cent. */
  readonly total: number;
  /** Matches {@link CURRENCY_PATTERN}. */
  readonly currency: string;
  /** ISO-8601 UTC, normalised with `Date.prototype.toISOString()`. */
  readonly createdAt: string;
  /** ISO-8601 UTC when present. */
  readonly producedAt?: string;
}

/**
 * Converts order data to its wire form (a fresh, unfrozen plain object). `produced_at` is
 * present only when `producedAt` is set.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { toRawOrder } from "./order.ts";
 * deepEqual(toRawOrder({
 *   orderId: "o1", customerId: "c1", channel: "web", items: [{ sku: "S", quantity: 1, unitPrice: 2 }],
 *   total: 2, currency: "USD", createdAt: "2026-01-01T00:00:00.000Z",
 * }), {
 *   orderId: "o1", customerId: "c1", channel: "web", items: [{ sku: "S", quantity: 1, unit_price: 2 }],
 *   total: 2, currency: "USD", created_at: "2026-01-01T00:00:00.000Z",
 * });
 * ```
 */
export function toRawOrder(data: OrderData): RawOrder {
  const items: RawOrderItem[] = [];
  for (const item of data.items) {
    items.push({ sku: item.sku, quantity: item.quantity, unit_price: item.unitPrice });
  }
  const raw: {
    orderId: string;
    customerId: string;
    channel: string;
    items: RawOrderItem[];
    total: number;
    currency: string;
    created_at: string;
    produced_at?: string;
  } = {
    orderId: data.orderId,
    customerId: data.customerId,
    channel: data.channel,
    items,
    total: data.total,
    currency: data.currency,
    created_at: data.createdAt,
  };
  if (data.producedAt !== undefined) raw.produced_at = data.producedAt;
  return raw;
}
