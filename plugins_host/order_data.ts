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

/**
 * The orders of one call as the host sends them: one array per field (`producedAt` is `null`
 * where absent), the items flattened, and each order's item count. Columns are the wire shape
 * because a keyed object per order costs the host twice as much to stringify and sends twice
 * the bytes; the plugin side rebuilds plain OrderData from them (`decodeOrders` in
 * `_harness.ts`), so a scorer sees exactly what {@linkcode plainOrderData} gives.
 */
export type OrderColumns = [
  orderId: string[],
  customerId: string[],
  channel: string[],
  total: number[],
  currency: string[],
  createdAt: string[],
  producedAt: (string | null)[],
  itemCount: number[],
  sku: string[],
  quantity: number[],
  unitPrice: number[],
];

/**
 * The {@linkcode OrderColumns} of `orders`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeOrders } from "./order_data.ts";
 * const order = {
 *   orderId: "o1", customerId: "c1", channel: "web", total: 3, currency: "USD",
 *   items: [{ sku: "S", quantity: 1, unitPrice: 3 }], createdAt: "2026-11-26T20:00:00.000Z",
 * };
 * assert.deepEqual(encodeOrders([order]), [
 *   ["o1"], ["c1"], ["web"], [3], ["USD"], ["2026-11-26T20:00:00.000Z"], [null],
 *   [1], ["S"], [1], [3],
 * ]);
 * ```
 */
export function encodeOrders(orders: readonly OrderData[]): OrderColumns {
  const n = orders.length;
  const orderId: string[] = new Array(n), customerId: string[] = new Array(n);
  const channel: string[] = new Array(n), total: number[] = new Array(n);
  const currency: string[] = new Array(n), createdAt: string[] = new Array(n);
  const producedAt: (string | null)[] = new Array(n), itemCount: number[] = new Array(n);
  const sku: string[] = [], quantity: number[] = [], unitPrice: number[] = [];
  for (let i = 0; i < n; i++) {
    const order = orders[i]!;
    orderId[i] = order.orderId;
    customerId[i] = order.customerId;
    channel[i] = order.channel;
    total[i] = order.total;
    currency[i] = order.currency;
    createdAt[i] = order.createdAt;
    producedAt[i] = order.producedAt ?? null;
    const items = order.items;
    itemCount[i] = items.length;
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!;
      sku.push(item.sku);
      quantity.push(item.quantity);
      unitPrice.push(item.unitPrice);
    }
  }
  return [
    orderId,
    customerId,
    channel,
    total,
    currency,
    createdAt,
    producedAt,
    itemCount,
    sku,
    quantity,
    unitPrice,
  ];
}
