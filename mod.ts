/**
 * orderflow — an event-driven order pipeline for IBM Cloud (Event Streams + Cloud Object Storage).
 *
 * This module is the public, zero-build TypeScript core shared by the producer, the consumer and
 * the channel scorer plugins: the `Order` domain value, its object key, the top-K heap, metrics,
 * and (re-exported from `sdk/`, which plugins import as `@orderflow/scorer`) the scorer plugin
 * contract. It performs no I/O and imports no npm package.
 *
 * @module
 */

// core: domain values, keys, schema, top-K, metrics
export * from "./core/order.ts";
export * from "./core/order_key.ts";
export * from "./core/order_schema.ts";
export * from "./core/enrich.ts";
export * from "./core/top_k.ts";
export * from "./core/metrics.ts";

// the scorer plugin contract
export {
  defineScorer,
  resolveOptions,
  SCORER_API_VERSION,
  ScorerSpecError,
  validateScorerSpec,
} from "./sdk/mod.ts";
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
} from "./sdk/mod.ts";
