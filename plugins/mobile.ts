/**
 * Mobile channel scorer: a fixed baseline (0.5) for every order.
 *
 * @module
 */
import { defineScorer } from "@orderflow/scorer";

export default defineScorer({
  spec: {
    name: "mobile",
    channel: "mobile",
    apiVersion: 1,
    description: "Fixed baseline risk for every mobile order.",
    options: {
      baseline: { type: "number", default: 0.5, min: 0, max: 0.99, description: "The score." },
    },
  },
  create({ baseline }) {
    return { score: () => baseline };
  },
});
