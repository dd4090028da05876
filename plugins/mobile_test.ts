import assert from "node:assert/strict";
import { resolveOptions } from "@orderflow/scorer";
import mobile from "./mobile.ts";

Deno.test("mobile scorer returns its fixed baseline", () => {
  const order = {
    orderId: "o1",
    customerId: "c1",
    channel: "mobile",
    items: [],
    total: 5,
    currency: "USD",
    createdAt: "2026-11-26T20:00:00.000Z",
  };
  assert.equal(mobile.create(resolveOptions(mobile.spec, {})).score(order), 0.5);
  assert.equal(mobile.create(resolveOptions(mobile.spec, { baseline: 0.2 })).score(order), 0.2);
});
