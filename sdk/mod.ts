/**
 * The scorer plugin SDK: everything a channel scorer in `plugins/` may import, as
 * `@orderflow/scorer`. It has no I/O and loads no file outside this folder, so it works inside
 * the plugin sandbox, which can read only this folder and the plugins directory.
 *
 * @example
 * ```ts
 * import { defineScorer, resolveOptions } from "@orderflow/scorer";
 * import assert from "node:assert/strict";
 *
 * const mobile = defineScorer({
 *   spec: {
 *     name: "mobile", channel: "mobile", apiVersion: 1, description: "Fixed baseline.",
 *     options: { baseline: { type: "number", default: 0.5, min: 0, max: 0.99, description: "b" } },
 *   },
 *   create: ({ baseline }) => ({ score: () => baseline }),
 * });
 * const order = {
 *   orderId: "o1", customerId: "c1", channel: "mobile", items: [], total: 5,
 *   currency: "USD", createdAt: "2026-11-26T20:00:00.000Z",
 * };
 * assert.equal(mobile.create(resolveOptions(mobile.spec, {})).score(order), 0.5);
 * ```
 *
 * @module
 */
export {
  CHANNEL_PATTERN,
  defineScorer,
  resolveOptions,
  SCORER_API_VERSION,
  SCORER_NAME_PATTERN,
  ScorerSpecError,
  validateScorerSpec,
} from "./contract.ts";
export type {
  BooleanOptionSpec,
  NumberOptionSpec,
  OptionSpec,
  OptionValues,
  OrderData,
  Scorer,
  ScorerFactory,
  ScorerModule,
  ScorerSpec,
  StringOptionSpec,
} from "./contract.ts";
