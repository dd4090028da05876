/**
 * Fallback scorer: a fixed 0.3 for orders of channels without a scorer, and for orders whose
 * channel scorer failed (threw, timed out, crashed or returned an invalid score).
 *
 * @module
 */
import { defineScorer } from "@orderflow/scorer";

export default defineScorer({
  spec: {
    name: "default",
    channel: "default",
    apiVersion: 1,
    description: "Fixed moderate risk used when no channel scorer produced a score.",
    options: {
      score: { type: "number", default: 0.3, min: 0, max: 0.99, description: "The score." },
    },
  },
  create({ score }) {
    return { score: () => score };
  },
});
