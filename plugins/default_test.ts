import assert from "node:assert/strict";
import { resolveOptions } from "@orderflow/scorer";
import fallback from "./default.ts";

Deno.test("default (fallback) scorer returns 0.3 for any channel", () => {
  const order = {
    orderId: "o1",
    customerId: "c1",
    channel: "anything",
    items: [],
    total: 99999,
    currency: "USD",
    createdAt: "2026-11-26T20:00:00.000Z",
  };
  assert.equal(fallback.create(resolveOptions(fallback.spec, {})).score(order), 0.3);
});
