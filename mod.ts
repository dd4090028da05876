/**
 * orderflow — an event-driven order pipeline for IBM Cloud (Event Streams + Cloud Object Storage).
 *
 * This module is the public, zero-build TypeScript core shared by the producer, the consumer and
 * the channel scorer plugins: the `Order` domain value, its object key, the top-K heap, metrics,
 * transforms and the scorer plugin contract. It performs no I/O and imports no npm package, so a
 * plugin can import it inside a sandboxed worker with no permissions.
 *
 * @module
 */

// core: domain values, keys, schema, top-K, metrics, transforms
export * from "./core/order.ts";
export * from "./core/order_key.ts";
export * from "./core/order_schema.ts";
export * from "./core/enrich.ts";
export * from "./core/top_k.ts";
export * from "./core/metrics.ts";
export * from "./core/transforms.ts";

// the scorer plugin contract
export {
  defineScorer,
  resolveOptions,
  SCORER_API_VERSION,
  ScorerSpecError,
  validateScorerSpec,
} from "./consumer/scoring/contract.ts";
export type {
  BooleanOptionSpec,
  NumberOptionSpec,
  OptionSpec,
  OptionValues,
  Scorer,
  ScorerFactory,
  ScorerModule,
  ScorerSpec,
  StringOptionSpec,
} from "./consumer/scoring/contract.ts";
