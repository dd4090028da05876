/**
 * A sandboxed plugin receives an order as the SDK contract says (plain OrderData: `createdAt`,
 * `items[].unitPrice`, `producedAt`), also when the caller passes an `Order` instance (the
 * consumer does), whose own JSON is the wire shape; the producer's edge scoring passes plain
 * data. Both must see the same fields, or edge and consumer scores disagree.
 */
import assert from "node:assert/strict";
import { Order } from "../core/order.ts";
import { ScoringHost } from "../plugins_host/host.ts";
import { LOAD_TIMEOUT_MS, scorerSource, tempPluginsDir } from "../plugins_host/_testing.ts";
import { plainOrderData } from "../plugins_host/order_data.ts";

Deno.test("a sandboxed plugin sees createdAt, items[].unitPrice and producedAt of an Order instance", async () => {
  const dir = await tempPluginsDir(true);
  const body = `order.createdAt === "2026-11-26T20:00:00.000Z" && order.items[0].unitPrice === 3 &&
    order.producedAt === "2026-11-26T20:00:01.000Z" && !("created_at" in order) ? 0.9 : 0.1`;
  await Deno.writeTextFile(`${dir}/pos.ts`, scorerSource("pos", body));
  const host = await ScoringHost.start({
    pluginsDir: dir,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: () => {},
  });
  try {
    const order = Order.fromRaw({
      orderId: "o1",
      customerId: "c1",
      channel: "pos",
      items: [{ sku: "S", quantity: 1, unit_price: 3 }],
      total: 3,
      currency: "USD",
      created_at: "2026-11-26T20:00:00.000Z",
      produced_at: "2026-11-26T20:00:01.000Z",
    }, { now: Date.parse("2026-11-26T20:00:02Z") });
    const [fromOrder, fromPlain] = await host.score([order, plainOrderData(order)]);
    assert.deepEqual(fromOrder, { score: 0.9, scorer: "pos", fallback: false });
    assert.deepEqual(fromPlain, fromOrder);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
