/**
 * What the stored orders look like, for `/metrics`, the dashboard and the summary line: risk per
 * channel, how the producer's edge scores compare with the consumer's, and the top orders by
 * value (core's O(log k) {@linkcode TopK} heap, each order at most once).
 *
 * @module
 */
import { type Counter, type MetricsRegistry, TopK } from "../mod.ts";
import type { StoredOutcome } from "./handler.ts";
import { type Count, countOf } from "./metric_series.ts";

/** Risk score aggregate of one channel. */
export interface ChannelRisk {
  readonly count: number;
  readonly mean: number;
  readonly max: number;
}

/** How the producer's edge scores of one channel compare with the consumer's own. */
export interface ChannelEdge {
  /** Stored orders that carried a valid edge score (`risk.score` header). */
  readonly scored: number;
  /** Of those, orders whose edge and consumer scores differ by more than {@linkcode EDGE_DISAGREEMENT}. */
  readonly disagreements: number;
}

/**
 * Edge and consumer scores "disagree" when they differ by more than this: the same plugins give
 * the same score, so a gap means the producer ran another version or its fallback scored.
 */
export const EDGE_DISAGREEMENT = 0.1;

/** One of the highest-value orders seen. */
export interface TopOrder {
  readonly orderId: string;
  readonly total: number;
  readonly channel: string;
  readonly riskScore: number;
}

/** Label value that aggregates channels beyond `maxChannels`. */
export const OTHER_CHANNEL = "_other";

/** Per-channel risk and edge agreement, and the top orders; registers its metrics on creation. */
export class OrderStats {
  readonly #top: TopK<TopOrder>;
  /** IDs currently in #top, so a replayed order is not listed twice (at most k entries). */
  readonly #topIds = new Set<string>();
  readonly #maxChannels: number;
  readonly #risk = new Map<string, { count: number; sum: number; max: number }>();
  readonly #edge = new Map<string, { scored: number; disagreements: number }>();
  readonly #edgeScored: Counter;
  readonly #edgeDisagreements: Counter;
  /** Stored orders whose `risk.score` header was present but not a number in [0, 1]. */
  readonly edgeScoreInvalid: Count;

  /** `topK`: size of the top list; channels beyond `maxChannels` count as `_other`. */
  constructor(r: MetricsRegistry, topK: number, maxChannels: number) {
    this.#top = new TopK<TopOrder>(topK, (o) => o.total);
    this.#maxChannels = maxChannels;
    r.gauge({
      name: "orderflow_risk_score_mean",
      help: "Mean risk score of stored orders, by channel.",
      labelNames: ["channel"],
      collect: (g) => {
        for (const [channel, risk] of this.#risk) g.set(risk.sum / risk.count, { channel });
      },
    });
    this.#edgeScored = r.counter({
      name: "orderflow_edge_scored_total",
      help: "Stored orders that carried the producer's edge score (risk.score header), by channel.",
      labelNames: ["channel"],
    });
    this.#edgeDisagreements = r.counter({
      name: "orderflow_edge_disagreements_total",
      help:
        `Stored orders whose edge score and consumer score differ by more than ${EDGE_DISAGREEMENT}, by channel.`,
      labelNames: ["channel"],
    });
    this.edgeScoreInvalid = countOf(r.counter({
      name: "orderflow_edge_score_invalid_total",
      help: "Stored orders whose risk.score header was not a number in [0, 1] (ignored).",
    }));
  }

  /** Accounts a stored order. */
  record(o: StoredOutcome): void {
    const channel = this.#risk.has(o.channel) || this.#risk.size < this.#maxChannels
      ? o.channel
      : OTHER_CHANNEL;
    let risk = this.#risk.get(channel);
    if (risk === undefined) this.#risk.set(channel, risk = { count: 0, sum: 0, max: -Infinity });
    risk.count++;
    risk.sum += o.riskScore;
    risk.max = Math.max(risk.max, o.riskScore);
    if (o.edgeScoreInvalid === true) this.edgeScoreInvalid.inc();
    if (o.edgeRiskScore !== undefined) {
      let edge = this.#edge.get(channel);
      if (edge === undefined) this.#edge.set(channel, edge = { scored: 0, disagreements: 0 });
      edge.scored++;
      this.#edgeScored.inc(1, { channel });
      if (Math.abs(o.edgeRiskScore - o.riskScore) > EDGE_DISAGREEMENT) {
        edge.disagreements++;
        this.#edgeDisagreements.inc(1, { channel });
      }
    }
    if (!this.#topIds.has(o.orderId)) {
      const full = this.#top.size === this.#top.capacity;
      const displaced = full ? this.#top.min : undefined;
      const entry: TopOrder = Object.freeze({
        orderId: o.orderId,
        total: o.total,
        channel: o.channel,
        riskScore: o.riskScore,
      });
      if (this.#top.push(entry)) {
        this.#topIds.add(o.orderId);
        if (displaced !== undefined) this.#topIds.delete(displaced.orderId);
      }
    }
  }

  /** Highest-value orders, largest first (each order at most once). */
  topOrders(): readonly TopOrder[] {
    return Object.freeze(this.#top.values());
  }

  /** Risk aggregate per channel. */
  riskByChannel(): ReadonlyMap<string, ChannelRisk> {
    const out = new Map<string, ChannelRisk>();
    for (const [channel, r] of this.#risk) {
      out.set(channel, Object.freeze({ count: r.count, mean: r.sum / r.count, max: r.max }));
    }
    return out;
  }

  /** Edge-score agreement per channel (only channels with edge-scored orders). */
  edgeByChannel(): ReadonlyMap<string, ChannelEdge> {
    return new Map([...this.#edge].map(([c, e]) => [c, Object.freeze({ ...e })]));
  }
}
