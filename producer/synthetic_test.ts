import assert from "node:assert/strict";
import { Order } from "../core/order.ts";
import { ChannelMix } from "./channel_mix.ts";
import { SyntheticOrders } from "./synthetic.ts";

Deno.test("SyntheticOrders.next() is reproducible with the same seed", () => {
  const now = () => Date.parse("2026-11-26T20:00:00.000Z");
  const a = new SyntheticOrders({ seed: 42, now });
  const b = new SyntheticOrders({ seed: 42, now });
  const c = new SyntheticOrders({ seed: 43, now });
  const xs = Array.from({ length: 200 }, () => a.next());
  const ys = Array.from({ length: 200 }, () => b.next());
  const zs = Array.from({ length: 200 }, () => c.next());
  assert.deepEqual(xs, ys);
  assert.notDeepEqual(
    xs.map((o) => o.items),
    zs.map((o) => o.items),
  );
  assert.equal(xs[0]?.orderId, "ord-s16-1");
});

Deno.test("SyntheticOrders order IDs are unique within and across unseeded runs", () => {
  const ids = new Set<string>();
  for (let run = 0; run < 20; run++) {
    const gen = new SyntheticOrders();
    for (let i = 0; i < 500; i++) ids.add(gen.next().orderId);
  }
  assert.equal(ids.size, 20 * 500);
});

Deno.test("SyntheticOrders totals equal the item sums to the cent, and every order passes Order.fromRaw", () => {
  const gen = new SyntheticOrders({
    seed: 7,
    mix: ChannelMix.parse("web=1,partner=1,mobile=1,kiosk=1"),
  });
  const channels = new Set<string>();
  let bigPartner = 0;
  for (let i = 0; i < 5000; i++) {
    const raw = gen.next();
    const cents = raw.items.reduce((s, it) => s + it.quantity * Math.round(it.unit_price * 100), 0);
    assert.equal(Math.round(raw.total * 100), cents, raw.orderId);
    assert.equal(raw.total, cents / 100, `total is the exact cents value: ${raw.orderId}`);
    assert.ok(raw.items.length >= 1 && raw.items.length <= 5);
    // Round-trip through JSON, as the consumer sees it.
    const order = Order.fromRaw(JSON.parse(JSON.stringify(raw)));
    assert.equal(order.orderId, raw.orderId);
    channels.add(order.channel);
    if (order.channel === "partner" && order.total > 2000) bigPartner++;
  }
  assert.deepEqual([...channels].sort(), ["kiosk", "mobile", "partner", "web"]);
  assert.ok(bigPartner > 0, "some partner orders cross the $2000 threshold");
});

Deno.test("SyntheticOrders uses the injected clock for created_at", () => {
  const gen = new SyntheticOrders({ seed: 1, now: () => 0 });
  assert.equal(gen.next().created_at, "1970-01-01T00:00:00.000Z");
});

Deno.test("SyntheticOrders.nextJson() yields the same orders as next()", () => {
  const now = () => Date.parse("2026-11-26T20:00:00.000Z");
  const a = new SyntheticOrders({ seed: 9, now });
  const b = new SyntheticOrders({ seed: 9, now });
  for (let i = 0; i < 100; i++) {
    const order = a.next();
    const { orderId, json } = b.nextJson();
    assert.equal(orderId, order.orderId);
    assert.equal(json, JSON.stringify(order));
    assert.ok(
      Object.isFrozen(order) && Object.isFrozen(order.items) && Object.isFrozen(order.items[0]),
    );
  }
});
