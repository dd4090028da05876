import assert from "node:assert/strict";
import { resolveOptions } from "@orderflow/scorer";
import web from "./web.ts";

const order = {
  orderId: "o1",
  customerId: "c1",
  channel: "web",
  items: [],
  total: 250,
  currency: "USD",
  createdAt: "2026-11-26T20:00:00.000Z",
};

Deno.test("web scorer is proportional to the total and capped at 0.99", () => {
  const s = web.create(resolveOptions(web.spec, {}));
  assert.equal(s.score(order), 0.25);
  assert.equal(s.score({ ...order, total: 0 }), 0);
  assert.equal(s.score({ ...order, total: 1_000_000 }), 0.99);
  assert.equal(web.create(resolveOptions(web.spec, { scale: 500 })).score(order), 0.5);
});
