/**
 * Partner channel scorer: a step at a $2000 total — `high` when `total >= threshold`, else `low`.
 *
 * @module
 */
import { defineScorer } from "@orderflow/scorer";

export default defineScorer({
  spec: {
    name: "partner",
    channel: "partner",
    apiVersion: 1,
    description: "High risk at or above the threshold total, low risk below it.",
    options: {
      threshold: {
        type: "number",
        default: 2000,
        min: 0,
        description: "Order total at or above which an order counts as high risk.",
      },
      high: { type: "number", default: 0.8, min: 0, max: 0.99, description: "Score at/above." },
      low: { type: "number", default: 0.1, min: 0, max: 0.99, description: "Score below." },
    },
  },
  create({ threshold, high, low }) {
    return { score: (order) => (order.total >= threshold ? high : low) };
  },
});
