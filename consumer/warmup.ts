/**
 * Warm-up before the consumer reports ready: one synthetic order per scored channel through the
 * handler's parse, validate, score and enrich steps, without writing anything. The first call of
 * each scorer process and of the handler's code paths costs far more than later ones; paying it
 * before `/readyz` says ready keeps it off the first orders.
 *
 * The fallback scorer is not called: a warm-up order for it would count as a fallback in the
 * scoring host's counters (the dashboard), and the host already runs each scorer once when it
 * loads it. The host does count the warm-up orders as scored (one per channel); the consumer's
 * own metrics count stored orders only.
 *
 * @module
 */
import { prepareBatch, type ScoreFn } from "./handler.ts";

/** What {@linkcode warmUp} did. */
export interface WarmUpReport {
  /** Channels warmed. */
  readonly channels: readonly string[];
  /** Orders that did not come out scored and enriched (a warm-up order was rejected). */
  readonly failed: number;
  /** How long the warm-up took, ms. */
  readonly ms: number;
}

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
 * Runs one order per channel in `channels` (duplicates once) through `prepareBatch` with
 * `score`, as one call. Never writes; never throws for a rejected order (it is counted in
 * `failed`).
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
 * }, ["web", "mobile", "web"]);
 * assert.deepEqual(seen, ["web", "mobile"]);
 * assert.equal(report.failed, 0);
 * ```
 */
export async function warmUp(score: ScoreFn, channels: readonly string[]): Promise<WarmUpReport> {
  const started = performance.now();
  const all = [...new Set(channels)];
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
