/**
 * Warm-up before the consumer reports ready: one synthetic order per scored channel (and one for
 * the fallback scorer) through the handler's parse, validate, score and enrich steps, without
 * writing anything. The first call of each scorer worker and of the handler's code paths costs
 * far more than later ones; paying it before `/readyz` says ready keeps it off the first orders.
 *
 * @module
 */
import { prepareBatch, type ScoreFn } from "./handler.ts";

/** What {@linkcode warmUp} did. */
export interface WarmUpReport {
  /** Channels warmed, the fallback's stand-in channel last. */
  readonly channels: readonly string[];
  /** Orders that did not come out scored and enriched (a warm-up order was rejected). */
  readonly failed: number;
  /** How long the warm-up took, ms. */
  readonly ms: number;
}

/** The channel used to reach the fallback scorer (no scorer serves it). */
export const FALLBACK_WARM_UP_CHANNEL = "warm-up-fallback";

/** A valid wire order on `channel` (the shape the producer sends). */
function warmUpOrder(channel: string, i: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    orderId: `warm-up-${i}`,
    customerId: "cust-warm-up",
    channel,
    items: [{ sku: "SKU-1", quantity: 2, unit_price: 60 }],
    total: 120,
    currency: "USD",
    created_at: new Date().toISOString(),
  }));
}

/**
 * Runs one order per channel in `channels`, plus one on {@linkcode FALLBACK_WARM_UP_CHANNEL},
 * through `prepareBatch` with `score`. Never writes; never throws for a rejected order (it is
 * counted in `failed`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { warmUp } from "./warmup.ts";
 *
 * const seen: string[] = [];
 * const report = await warmUp((orders) => {
 *   seen.push(...orders.map((o) => o.channel));
 *   return Promise.resolve(orders.map(() => ({ score: 0.5, scorer: "t", fallback: false })));
 * }, ["web", "mobile"]);
 * assert.deepEqual(seen, ["web", "mobile", "warm-up-fallback"]);
 * assert.equal(report.failed, 0);
 * ```
 */
export async function warmUp(score: ScoreFn, channels: readonly string[]): Promise<WarmUpReport> {
  const started = performance.now();
  const all = [...new Set(channels)].filter((c) => c !== FALLBACK_WARM_UP_CHANNEL);
  all.push(FALLBACK_WARM_UP_CHANNEL);
  const now = Date.now();
  const outcomes = await prepareBatch(
    all.map((channel, i) => ({
      partition: 0,
      offset: String(i),
      key: null,
      value: warmUpOrder(channel, i),
      headers: { produced_at: String(now) },
      timestamp: String(now),
    })),
    { score, now: Date.now, maxBytes: 1024 * 1024 },
  );
  return Object.freeze({
    channels: Object.freeze(all),
    failed: outcomes.filter((o) => o.kind !== "prepared").length,
    ms: performance.now() - started,
  });
}
