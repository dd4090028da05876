/**
 * Web channel scorer: risk grows with the order total, `min(total / scale, 0.99)`.
 *
 * @module
 */
import { defineScorer } from "@orderflow/scorer";

export default defineScorer({
  spec: {
    name: "web",
    channel: "web",
    apiVersion: 1,
    description: "Risk proportional to the order total (total / scale), capped at 0.99.",
    options: {
      scale: {
        type: "number",
        default: 1000,
        min: 1,
        description: "Order total (in the order's currency) at which risk reaches the 0.99 cap.",
      },
    },
  },
  create({ scale }) {
    return { score: (order) => Math.min(Math.max(order.total, 0) / scale, 0.99) };
  },
});
