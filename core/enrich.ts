/**
 * Enrichment: the record the sink writes, i.e. the wire order plus processing facts.
 *
 * @module
 */

import { parseTimestamp } from "./_timestamp.ts";
import { Order, type OrderData, type RawOrder, toRawOrder } from "./order.ts";

/** What the sink stores: the {@link RawOrder} fields plus consumption facts (snake_case). */
export interface EnrichedOrder extends RawOrder {
  /** When the consumer processed the record, ISO-8601 UTC. */
  readonly consumed_at: string;
  /** End-to-end latency in whole milliseconds, never negative (see {@link enrich}). */
  readonly latency_ms: number;
  /** Risk score from the scorer, in [0, 1]. */
  readonly risk_score: number;
  /**
   * The producer's edge score (Kafka header `risk.score`, `deno task produce --score`), in
   * [0, 1]; absent when the record had no valid one.
   */
  readonly edge_risk_score?: number;
  /** Name of the scorer that produced `risk_score` (the fallback scorer's name on fallback). */
  readonly scorer: string;
}

/** Inputs to {@link enrich}. */
export interface EnrichOptions {
  /** When the record was consumed, epoch ms. */
  readonly consumedAt: number;
  /** The Kafka header `produced_at` as epoch ms, when the record had a parseable one. */
  readonly producedAt?: number;
  /** Score in [0, 1]. */
  readonly riskScore: number;
  /** The producer's edge score in [0, 1], when the record had a valid `risk.score` header. */
  readonly edgeRiskScore?: number;
  /** Scorer name; non-empty. */
  readonly scorer: string;
}

/**
 * Returns the enriched record (a fresh plain object; pure, no clock reads).
 *
 * `latency_ms = consumedAt − start`, rounded, where `start` is the first available of: the
 * `producedAt` option (the Kafka header), the order's own `producedAt` (body `produced_at`),
 * its `createdAt`. The three measure different things — producer send time vs. order creation
 * time — so a latency from `created_at` includes the time before the order was published.
 * Clocks of producer and consumer hosts can disagree; a negative difference is clamped to 0,
 * which means "at most the skew", not "zero latency".
 *
 * `edge_risk_score` follows `risk_score` only when `edgeRiskScore` is given (an order published
 * without edge scoring keeps exactly the fields it had before edge scoring existed).
 *
 * Throws `RangeError` if `consumedAt` or a given `producedAt` is not finite, or `riskScore` (or
 * a given `edgeRiskScore`) is not a finite number in [0, 1]; `TypeError` if `scorer` is empty or
 * not a string.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Order } from "./order.ts";
 * import { enrich } from "./enrich.ts";
 * const order = Order.fromRaw({
 *   orderId: "ord-1", customerId: "cust-1", channel: "web",
 *   items: [{ sku: "SKU-1", quantity: 1, unit_price: 3 }], total: 3, currency: "USD",
 *   created_at: "2026-11-26T20:00:00.000Z",
 * }, { now: Date.parse("2026-11-26T20:00:00Z") });
 * const consumedAt = Date.parse("2026-11-26T20:00:00.250Z");
 * const e = enrich(order, { consumedAt, producedAt: consumedAt - 40, riskScore: 0.2, scorer: "web" });
 * equal(e.latency_ms, 40);
 * equal(e.consumed_at, "2026-11-26T20:00:00.250Z");
 * equal(e.orderId, "ord-1");
 * equal(enrich(order, { consumedAt, riskScore: 0.2, scorer: "web" }).latency_ms, 250);
 * equal(enrich(order, { consumedAt: consumedAt - 1000, riskScore: 0, scorer: "web" }).latency_ms, 0);
 * ```
 */
export function enrich(order: OrderData, options: EnrichOptions): EnrichedOrder {
  const latency = checkedLatency(order, options);
  return {
    ...toRawOrder(order),
    consumed_at: new Date(options.consumedAt).toISOString(),
    latency_ms: latency,
    risk_score: options.riskScore,
    ...(options.edgeRiskScore === undefined ? {} : { edge_risk_score: options.edgeRiskScore }),
    scorer: options.scorer,
  };
}

/**
 * Returns `JSON.stringify(enrich(order, options))`, the same text byte for byte, with the same
 * checks and errors. For an {@linkcode Order} (validated, frozen) the text is written directly,
 * without the intermediate objects: the consumer does this for every record. Other
 * {@linkcode OrderData} goes through {@linkcode enrich} and `JSON.stringify`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Order } from "./order.ts";
 * import { enrich, enrichedJson } from "./enrich.ts";
 * const order = Order.fromRaw({
 *   orderId: "ord-1", customerId: "cust-1", channel: "web",
 *   items: [{ sku: "SKU-1", quantity: 1, unit_price: 3 }], total: 3, currency: "USD",
 *   created_at: "2026-11-26T20:00:00.000Z",
 * }, { now: Date.parse("2026-11-26T20:00:00Z") });
 * const options = { consumedAt: Date.parse("2026-11-26T20:00:00.250Z"), riskScore: 0.2, scorer: "web" };
 * equal(enrichedJson(order, options), JSON.stringify(enrich(order, options)));
 * ```
 */
export function enrichedJson(order: OrderData, options: EnrichOptions): string {
  if (!Order.isOrder(order)) return JSON.stringify(enrich(order, options));
  const latency = checkedLatency(order, options);
  // An Order's strings match patterns without quotes, backslashes or control characters, its
  // timestamps are ISO-8601 UTC and its numbers are finite: they need no escaping, and a finite
  // number's JSON text is its String().
  let items = "";
  for (const item of order.items) {
    items += `${items === "" ? "" : ","}{"sku":"${item.sku}","quantity":${item.quantity},` +
      `"unit_price":${item.unitPrice}}`;
  }
  const producedAt = order.producedAt === undefined ? "" : `,"produced_at":"${order.producedAt}"`;
  return `{"orderId":"${order.orderId}","customerId":"${order.customerId}",` +
    `"channel":"${order.channel}","items":[${items}],"total":${order.total},` +
    `"currency":"${order.currency}","created_at":"${order.createdAt}"${producedAt},` +
    `"consumed_at":"${new Date(options.consumedAt).toISOString()}","latency_ms":${latency},` +
    `"risk_score":${options.riskScore}${
      options.edgeRiskScore === undefined ? "" : `,"edge_risk_score":${options.edgeRiskScore}`
    },"scorer":${quote(options.scorer)}}`;
}

/** Characters JSON.stringify copies as they are (printable ASCII but `"` and `\`). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quote(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** Checks the options; returns `latency_ms`. */
function checkedLatency(order: OrderData, options: EnrichOptions): number {
  const { consumedAt, producedAt, riskScore, edgeRiskScore, scorer } = options;
  if (typeof consumedAt !== "number" || !Number.isFinite(consumedAt)) {
    throw new RangeError(
      `Cannot enrich order: consumedAt must be a finite number, got ${consumedAt}`,
    );
  }
  if (
    producedAt !== undefined && (typeof producedAt !== "number" || !Number.isFinite(producedAt))
  ) {
    throw new RangeError(
      `Cannot enrich order: producedAt must be a finite number when given, got ${producedAt}`,
    );
  }
  if (typeof riskScore !== "number" || !(riskScore >= 0 && riskScore <= 1)) {
    throw new RangeError(
      `Cannot enrich order: riskScore must be a number in [0, 1], got ${riskScore}`,
    );
  }
  if (
    edgeRiskScore !== undefined &&
    (typeof edgeRiskScore !== "number" || !(edgeRiskScore >= 0 && edgeRiskScore <= 1))
  ) {
    throw new RangeError(
      `Cannot enrich order: edgeRiskScore must be a number in [0, 1] when given, got ${edgeRiskScore}`,
    );
  }
  if (typeof scorer !== "string" || scorer.length === 0) {
    throw new TypeError("Cannot enrich order: scorer must be a non-empty string");
  }
  const start = producedAt ?? startFromOrder(order);
  const latency = Math.round(consumedAt - start);
  return latency > 0 ? latency : 0;
}

function startFromOrder(order: OrderData): number {
  const text = order.producedAt ?? order.createdAt;
  const ms = parseTimestamp(text);
  if (Number.isNaN(ms)) {
    throw new RangeError(`Cannot enrich order: timestamp ${JSON.stringify(text)} is not parseable`);
  }
  return ms;
}
