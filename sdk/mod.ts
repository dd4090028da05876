/**
 * The scorer plugin SDK: everything a channel scorer in `plugins/` may import, as
 * `@orderflow/scorer`. It has no I/O and loads no file outside this folder, so it works inside
 * the plugin sandbox.
 *
 * @example
 * ```ts
 * import { defineScorer, resolveOptions } from "@orderflow/scorer";
 * import assert from "node:assert/strict";
 *
 * const web = defineScorer({
 *   spec: {
 *     name: "web", channel: "web", apiVersion: 1, description: "Risk grows with the total.",
 *     options: { scale: { type: "number", default: 1000, min: 1, description: "total at 1.0" } },
 *   },
 *   create({ scale }) {
 *     return { score: (order) => Math.min(order.total / scale, 0.99) };
 *   },
 * });
 * const order = {
 *   orderId: "o1", customerId: "c1", channel: "web", items: [], total: 250,
 *   currency: "USD", createdAt: "2026-11-26T20:00:00.000Z",
 * };
 * assert.equal(web.create(resolveOptions(web.spec, {})).score(order), 0.25);
 * assert.throws(() => defineScorer({ ...web, spec: { ...web.spec, channel: "" } }), /channel/);
 * ```
 *
 * @module
 */
export * from "./contract.ts";
