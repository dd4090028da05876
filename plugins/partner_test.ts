import assert from "node:assert/strict";
import { resolveOptions } from "@orderflow/scorer";
import partner from "./partner.ts";

const order = {
  orderId: "o1",
  customerId: "c1",
  channel: "partner",
  items: [],
  total: 1999.99,
  currency: "USD",
  createdAt: "2026-11-26T20:00:00.000Z",
};

Deno.test("partner scorer steps from low to high at a $2000 total", () => {
  const s = partner.create(resolveOptions(partner.spec, {}));
  assert.equal(s.score(order), 0.1);
  assert.equal(s.score({ ...order, total: 2000 }), 0.8);
  assert.throws(() => resolveOptions(partner.spec, { high: 1 }), /must be <= 0.99/);
});
