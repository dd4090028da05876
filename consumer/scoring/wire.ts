/**
 * Columnar wire format for order batches sent to scorer workers.
 *
 * Instead of structured-cloning one object graph per order, the host packs a batch into a few
 * arrays (strings in one array per field, numbers in transferred `Float64Array`s) and the worker
 * rebuilds plain, frozen {@linkcode OrderData} values. It reads fields through the public
 * interface, so it works for `Order` instances and plain objects alike (and never calls
 * `toJSON`).
 *
 * @module
 */
import type { OrderData, OrderItem } from "../../core/order.ts";

/** One batch of orders in columnar form. `itemStart` has `count + 1` offsets into the item columns. */
export interface OrderBatch {
  readonly count: number;
  /** orderId, customerId, channel, currency, createdAt, producedAt ("" = absent) per order. */
  readonly strings: readonly string[];
  readonly totals: Float64Array;
  readonly itemStart: Uint32Array;
  readonly skus: readonly string[];
  readonly quantities: Float64Array;
  readonly unitPrices: Float64Array;
}

const STRINGS_PER_ORDER = 6;

/**
 * Packs orders into an {@linkcode OrderBatch}; pass {@linkcode batchTransfer} as the transfer
 * list to `postMessage` to move the numeric columns instead of copying them.
 *
 * @example
 * ```ts
 * import { packOrders, unpackOrders } from "./wire.ts";
 * import assert from "node:assert/strict";
 *
 * const order = {
 *   orderId: "o1", customerId: "c1", channel: "web", total: 21, currency: "USD",
 *   items: [{ sku: "A", quantity: 2, unitPrice: 10.5 }], createdAt: "2026-11-26T20:00:00.000Z",
 * };
 * assert.deepEqual(unpackOrders(packOrders([order])), [order]);
 * ```
 */
export function packOrders(orders: readonly OrderData[]): OrderBatch {
  const count = orders.length;
  const strings: string[] = new Array(count * STRINGS_PER_ORDER);
  const totals = new Float64Array(count);
  const itemStart = new Uint32Array(count + 1);
  let itemCount = 0;
  for (let i = 0; i < count; i++) itemCount += orders[i]!.items.length;
  const skus: string[] = new Array(itemCount);
  const quantities = new Float64Array(itemCount);
  const unitPrices = new Float64Array(itemCount);
  let item = 0;
  for (let i = 0; i < count; i++) {
    const order = orders[i]!;
    const s = i * STRINGS_PER_ORDER;
    strings[s] = order.orderId;
    strings[s + 1] = order.customerId;
    strings[s + 2] = order.channel;
    strings[s + 3] = order.currency;
    strings[s + 4] = order.createdAt;
    strings[s + 5] = order.producedAt ?? "";
    totals[i] = order.total;
    itemStart[i] = item;
    for (const it of order.items) {
      skus[item] = it.sku;
      quantities[item] = it.quantity;
      unitPrices[item] = it.unitPrice;
      item++;
    }
  }
  itemStart[count] = item;
  return { count, strings, totals, itemStart, skus, quantities, unitPrices };
}

/** The transferable buffers of a batch (the numeric columns). */
export function batchTransfer(batch: OrderBatch): Transferable[] {
  return [
    batch.totals.buffer,
    batch.itemStart.buffer,
    batch.quantities.buffer,
    batch.unitPrices.buffer,
  ] as Transferable[];
}

/** Rebuilds frozen plain {@linkcode OrderData} values from a batch. */
export function unpackOrders(batch: OrderBatch): OrderData[] {
  const out: OrderData[] = new Array(batch.count);
  const { strings, totals, itemStart, skus, quantities, unitPrices } = batch;
  for (let i = 0; i < batch.count; i++) {
    const s = i * STRINGS_PER_ORDER;
    const items: OrderItem[] = [];
    for (let j = itemStart[i]!; j < itemStart[i + 1]!; j++) {
      items.push(
        Object.freeze({ sku: skus[j]!, quantity: quantities[j]!, unitPrice: unitPrices[j]! }),
      );
    }
    const base = {
      orderId: strings[s]!,
      customerId: strings[s + 1]!,
      channel: strings[s + 2]!,
      items: Object.freeze(items),
      total: totals[i]!,
      currency: strings[s + 3]!,
      createdAt: strings[s + 4]!,
    };
    const producedAt = strings[s + 5]!;
    out[i] = Object.freeze(producedAt === "" ? base : { ...base, producedAt });
  }
  return out;
}
