/**
 * What a plugin receives for an order: plain {@linkcode OrderData} (camelCase, `unitPrice`,
 * `createdAt`), as the SDK contract says. An {@linkcode Order} instance must not be sent as it
 * is: its `toJSON()` is the Kafka wire shape (`unit_price`, `created_at`), so a plugin reading
 * `order.createdAt` or `items[i].unitPrice` would get `undefined` in its sandbox while the same
 * code works in-process.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";

/**
 * A plain copy of the order's {@linkcode OrderData} fields (`producedAt` only when set), whose
 * JSON is what plugins parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Order } from "../core/order.ts";
 * import { plainOrderData } from "./order_data.ts";
 * const order = Order.fromRaw({
 *   orderId: "o1", customerId: "c1", channel: "web", total: 3, currency: "USD",
 *   items: [{ sku: "S", quantity: 1, unit_price: 3 }], created_at: "2026-11-26T20:00:00.000Z",
 * }, { now: Date.parse("2026-11-26T20:00:00Z") });
 * const sent = JSON.parse(JSON.stringify(plainOrderData(order)));
 * assert.equal(sent.createdAt, "2026-11-26T20:00:00.000Z");
 * assert.equal(sent.items[0].unitPrice, 3);
 * assert.equal("producedAt" in sent, false);
 * ```
 */
export function plainOrderData(order: OrderData): OrderData {
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    channel: order.channel,
    items: order.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPrice: i.unitPrice })),
    total: order.total,
    currency: order.currency,
    createdAt: order.createdAt,
    ...(order.producedAt === undefined ? {} : { producedAt: order.producedAt }),
  };
}
