/**
 * Edge scoring for the producer: the same scoring host as the consumer (`plugins_host/`, one
 * sandboxed process per plugin, the same manifest and limits) scores each batch before it is
 * published, stamps the `risk.*` headers, and routes orders above `--hold-above` to the review
 * topic. Also: the channels the plugins serve, which make the default synthetic mix.
 *
 * @module
 */

import type { ScoreFn, ScoreResult, ScorerStatus } from "../plugins_host/types.ts";
import { mixForChannels } from "./channel_mix.ts";
import type { DeliveryReport, Publisher } from "./publisher.ts";
import type { OutgoingRecord } from "./sources.ts";
import type { SyntheticOrders } from "./synthetic.ts";

/** Kafka header names of an edge score (values are UTF-8 text). */
export const EDGE_HEADERS = Object.freeze({
  /** The score, `String(score)`: a number in [0, 1]. */
  score: "risk.score",
  /** Name of the scorer that produced it (`builtin` for the host's last-resort 0.5). */
  scorer: "risk.scorer",
  /** Present only when the fallback scored the order; the value says why (e.g. `no_scorer`). */
  fallback: "risk.fallback",
});

/** The default `--hold-topic`. */
export const DEFAULT_HOLD_TOPIC = "orders.review";

/**
 * The channels the plugins serve, by the host's own rules, read from its status rows: every
 * channel of an enabled manifest entry (even one whose plugin failed: its orders still exist and
 * get the fallback), and every channel a discovered file owns. Disabled entries, conflicting
 * discovered files and the fallback (`*`) give none. Sorted, unique.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { enabledChannels } from "./edge.ts";
 * const row = { name: "x", file: "/p/x.ts", source: "manifest", lastError: undefined,
 *   lastFailure: undefined, restarts: 0, busyMs: 0, memoryMb: 64, deadlineMs: 250,
 *   rssBytes: undefined, isolation: "sandbox" } as const;
 * assert.deepEqual(enabledChannels([
 *   { ...row, channel: "web", state: "ready" },
 *   { ...row, channel: "*", source: "fallback", state: "ready" },
 *   { ...row, channel: "kiosk", state: "disabled" },
 *   { ...row, channel: "pos", source: "discovered", state: "ready" },
 *   { ...row, channel: "web", source: "discovered", state: "conflict" },
 * ]), ["pos", "web"]);
 * ```
 */
export function enabledChannels(status: readonly ScorerStatus[]): string[] {
  const channels = new Set<string>();
  for (const row of status) {
    if (row.channel === undefined || row.channel === "*") continue;
    if (row.state === "disabled" || row.state === "conflict") continue;
    channels.add(row.channel);
  }
  return [...channels].sort();
}

/** Where orders scoring above a threshold go instead of the run's topic. */
export interface HoldOptions {
  /** Publisher bound to the hold topic (same delivery settings as the main one). */
  readonly publisher: Publisher;
  readonly topic: string;
  /** Orders with a score strictly above this go to `topic`. */
  readonly above: number;
}

/** Options of {@linkcode EdgePublisher}. */
export interface EdgePublisherOptions {
  /** Publisher bound to the run's topic. */
  readonly main: Publisher;
  /** The scoring host's `score` (never rejects for plugin faults). */
  readonly score: ScoreFn;
  readonly hold?: HoldOptions;
}

/** Per-channel counts of an edge-scoring run. */
export interface EdgeChannelCounts {
  /** Orders scored at the edge. */
  readonly scored: number;
  /** Of those, scored by the fallback (or the built-in 0.5). */
  readonly fallbacks: number;
  /** Orders held: routed to the hold topic and acknowledged there. */
  readonly held: number;
}

/**
 * A {@linkcode Publisher} that scores each batch at the edge before publishing it: every record
 * gets the {@linkcode EDGE_HEADERS}, and with a hold threshold the records scoring above it are
 * published to the hold topic (concurrently with the rest of the batch, same delivery
 * guarantees). Reports come back one per record in input order, as from any publisher; a held
 * record's report names its topic. A batch whose scoring fails outright (the host is closed:
 * plugin faults never reject) is reported failed and nothing of it is sent, so no order is ever
 * published without its score.
 */
export class EdgePublisher implements Publisher {
  readonly #o: EdgePublisherOptions;
  readonly #counts = new Map<string, { scored: number; fallbacks: number; held: number }>();

  constructor(options: EdgePublisherOptions) {
    const above = options.hold?.above;
    if (above !== undefined && !(above >= 0 && above <= 1)) {
      throw new RangeError(`Cannot hold orders: the threshold must be in [0, 1], got ${above}`);
    }
    this.#o = options;
  }

  /** Counts per channel so far (orders read but never scored are not in it). */
  counts(): ReadonlyMap<string, EdgeChannelCounts> {
    return new Map([...this.#counts].map(([c, n]) => [c, Object.freeze({ ...n })]));
  }

  /** Orders held so far (acknowledged on the hold topic), all channels. */
  get held(): number {
    let n = 0;
    for (const c of this.#counts.values()) n += c.held;
    return n;
  }

  #channel(channel: string) {
    let c = this.#counts.get(channel);
    if (c === undefined) this.#counts.set(channel, c = { scored: 0, fallbacks: 0, held: 0 });
    return c;
  }

  /** Scores, stamps, routes and sends one batch; one report per record, in input order. */
  async publish(records: readonly OutgoingRecord[]): Promise<readonly DeliveryReport[]> {
    if (records.length === 0) return [];
    const scorable: number[] = [];
    records.forEach((r, i) => r.order !== undefined && scorable.push(i));
    let results: readonly ScoreResult[];
    try {
      results = await this.#o.score(scorable.map((i) => records[i]!.order!));
      if (results.length !== scorable.length) {
        throw new RangeError(
          `Cannot use edge scores: got ${results.length} results for ${scorable.length} orders`,
        );
      }
    } catch (error) {
      const err = error instanceof Error ? error : new TypeError(String(error));
      return records.map((record) => ({ status: "failed", record, error: err, latencyMs: 0 }));
    }
    const stamped = [...records];
    const held = new Set<number>();
    const hold = this.#o.hold;
    scorable.forEach((index, k) => {
      const record = records[index]!;
      const result = results[k]!;
      const counts = this.#channel(record.order!.channel);
      counts.scored++;
      if (result.fallback) counts.fallbacks++;
      stamped[index] = { ...record, headers: { ...record.headers, ...edgeHeaders(result) } };
      if (hold !== undefined && result.score > hold.above) held.add(index);
    });
    const mainIdx: number[] = [];
    const holdIdx: number[] = [];
    stamped.forEach((_, i) => (held.has(i) ? holdIdx : mainIdx).push(i));
    const [mainReports, holdReports] = await Promise.all([
      this.#o.main.publish(mainIdx.map((i) => stamped[i]!)),
      hold === undefined || holdIdx.length === 0
        ? Promise.resolve([])
        : hold.publisher.publish(holdIdx.map((i) => stamped[i]!)),
    ]);
    const reports: DeliveryReport[] = new Array(records.length);
    mainIdx.forEach((index, k) => reports[index] = mainReports[k]!);
    holdIdx.forEach((index, k) => {
      const report = holdReports[k]!;
      reports[index] = { ...report, topic: hold!.topic };
      if (report.status === "acked") this.#channel(stamped[index]!.order!.channel).held++;
    });
    return reports;
  }

  /** Closes both publishers (the scoring host belongs to the caller). */
  async close(): Promise<void> {
    await Promise.all([this.#o.main.close(), this.#o.hold?.publisher.close()]);
  }
}

/** The headers of one edge score. */
export function edgeHeaders(result: ScoreResult): Record<string, string> {
  return result.fallback
    ? {
      [EDGE_HEADERS.score]: String(result.score),
      [EDGE_HEADERS.scorer]: result.scorer,
      [EDGE_HEADERS.fallback]: result.reason ?? "true",
    }
    : { [EDGE_HEADERS.score]: String(result.score), [EDGE_HEADERS.scorer]: result.scorer };
}

/** How often {@linkcode followPluginChannels} compares the mix with the plugins, ms. */
export const MIX_FOLLOW_MS = 500;

/**
 * Keeps `generator`'s channel mix in line with the channels the plugins serve (the host's
 * `status()`, which calls no plugin): a dropped-in scorer's channel gets orders without a
 * restart, a removed or disabled one stops getting them. `current` is what the mix was built
 * from. Each change is logged once; when no channel is left, the mix stays as it was. Returns a
 * function that stops following.
 */
export function followPluginChannels(
  host: { status(): readonly ScorerStatus[] },
  generator: Pick<SyntheticOrders, "mix" | "setMix">,
  current: readonly string[],
  log: (line: string) => void,
  intervalMs: number = MIX_FOLLOW_MS,
): () => void {
  let channels = current.join(",");
  const timer = setInterval(() => {
    const served = enabledChannels(host.status());
    if (served.join(",") === channels) return;
    channels = served.join(",");
    const next = mixForChannels(served);
    if (next === undefined) {
      log(`plugins serve no channel now: keeping the synthetic mix ${generator.mix}`);
      return;
    }
    generator.setMix(next);
    log(`synthetic channels now follow the plugins: ${next}`);
  }, intervalMs);
  return () => clearInterval(timer);
}

/** Where held orders went, for the summaries. */
export interface HoldSummary {
  readonly topic: string;
  readonly above: number;
}

/**
 * The `--json` fields of edge scoring: `scored` (orders scored, with how many the fallback
 * scored, in total and per channel) and, with a hold threshold, `held` (orders acknowledged on
 * the hold topic, in total and per channel; every channel scored is listed, 0 included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeSummaryJson } from "./edge.ts";
 * const counts = new Map([["web", { scored: 3, fallbacks: 1, held: 2 }]]);
 * const json = edgeSummaryJson(counts, { topic: "orders.review", above: 0.7 });
 * assert.deepEqual(json.held, { topic: "orders.review", above: 0.7, total: 2, by_channel: { web: 2 } });
 * ```
 */
export function edgeSummaryJson(
  edge: ReadonlyMap<string, EdgeChannelCounts>,
  hold: HoldSummary | undefined,
): Record<string, unknown> {
  const channels = [...edge.keys()].sort();
  const of = (c: string) => edge.get(c)!;
  const sum = (f: (c: EdgeChannelCounts) => number) => channels.reduce((n, c) => n + f(of(c)), 0);
  return {
    scored: {
      total: sum((c) => c.scored),
      fallbacks: sum((c) => c.fallbacks),
      by_channel: Object.fromEntries(
        channels.map((c) => [c, { scored: of(c).scored, fallbacks: of(c).fallbacks }]),
      ),
    },
    ...(hold === undefined ? {} : {
      held: {
        topic: hold.topic,
        above: hold.above,
        total: sum((c) => c.held),
        by_channel: Object.fromEntries(channels.map((c) => [c, of(c).held])),
      },
    }),
  };
}

/** Human edge-scoring summary for stderr: scored, fallback and held orders per channel. */
export function formatEdgeSummary(
  edge: ReadonlyMap<string, EdgeChannelCounts>,
  hold: HoldSummary | undefined,
): string {
  const channels = [...edge.keys()].sort();
  const list = (f: (c: EdgeChannelCounts) => number) =>
    channels.map((c) => `${c} ${f(edge.get(c)!)}`).join(", ") || "none";
  let text = `scored at the edge: ${list((c) => c.scored)} (fallback: ${
    list((c) => c.fallbacks)
  })\n`;
  if (hold !== undefined) {
    const total = channels.reduce((n, c) => n + edge.get(c)!.held, 0);
    text += `held for review in "${hold.topic}" (score > ${hold.above}): ${total} (${
      list((c) => c.held)
    })\n`;
  }
  return text;
}
