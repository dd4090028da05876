/**
 * TEMPORARY stand-in for the scoring host until `consumer/scoring/host.ts` lands: the seed's
 * channel rules inline (web: total-proportional capped at 0.99; partner: $2000 threshold;
 * mobile: 0.5; others 0.5), reported with `fallback: true`.
 *
 * @module
 */
import type { ScoreResult } from "./handler.ts";
import type { OrderData } from "../core/order.ts";

/** Scores orders with the seed rules, in-process. */
export function builtinScore(orders: readonly OrderData[]): Promise<readonly ScoreResult[]> {
  return Promise.resolve(Object.freeze(orders.map((o) => {
    const score = o.channel === "web"
      ? Math.min(0.99, o.total / 10_000)
      : o.channel === "partner"
      ? (o.total >= 2000 ? 0.9 : 0.1)
      : 0.5;
    return Object.freeze({ score, scorer: "builtin", fallback: true });
  })));
}
