import assert from "node:assert/strict";
import { CHANNEL_PATTERN as CORE_CHANNEL_PATTERN } from "../core/order.ts";
import { CHANNEL_PATTERN } from "./contract.ts";

Deno.test("CHANNEL_PATTERN of the SDK is the one core/order.ts validates orders with", () => {
  assert.equal(CHANNEL_PATTERN.source, CORE_CHANNEL_PATTERN.source);
  assert.equal(CHANNEL_PATTERN.flags, CORE_CHANNEL_PATTERN.flags);
});
