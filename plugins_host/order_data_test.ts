import assert from "node:assert/strict";
import { Order, type OrderData } from "../core/order.ts";
import { encodeOrders, plainOrderData } from "./order_data.ts";
import { decodeOrders } from "./_harness.ts";

Deno.test("the plugin side rebuilds from the columns exactly what plainOrderData gives", () => {
  const now = Date.parse("2026-11-26T20:00:02Z");
  const orders: OrderData[] = [
    Order.fromRaw({
      orderId: "o1",
      customerId: "c1",
      channel: "web",
      items: [{ sku: "S", quantity: 1, unit_price: 3 }, {
        sku: "T",
        quantity: 2,
        unit_price: 0.5,
      }],
      total: 4,
      currency: "USD",
      created_at: "2026-11-26T20:00:00.000Z",
      produced_at: "2026-11-26T20:00:01.000Z",
    }, { now }),
    {
      orderId: "o2",
      customerId: 'c"2',
      channel: "pos",
      items: [{ sku: "U\u00e9\n", quantity: 3, unitPrice: 1e-7 }, {
        sku: "W",
        quantity: 1,
        unitPrice: 0,
      }],
      total: 3e-7,
      currency: "EUR",
      createdAt: "2026-11-26T20:00:00.500Z",
    },
    Order.fromRaw({
      orderId: "o3",
      customerId: "c3",
      channel: "web",
      items: [{ sku: "V", quantity: 1, unit_price: 2 }],
      total: 2,
      currency: "USD",
      created_at: "2026-11-26T20:00:00.000Z",
    }, { now }),
  ];
  const decoded = decodeOrders(JSON.parse(JSON.stringify(encodeOrders(orders))));
  // The same JSON means the same fields, values and key order as the keyed plain copies.
  assert.equal(JSON.stringify(decoded), JSON.stringify(orders.map(plainOrderData)));
  assert.equal("producedAt" in decoded[2]!, false);
  assert.deepEqual(decodeOrders(JSON.parse(JSON.stringify(encodeOrders([])))), []);
});
