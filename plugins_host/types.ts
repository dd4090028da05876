/**
 * What the scoring host gives its callers: results, status rows and metrics.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";
import type { FailureReason } from "./instance.ts";

export type { FailureReason };

/** The score of one order and who produced it. */
export interface ScoreResult {
  readonly score: number;
  /** Name of the scorer that produced `score` (`"builtin"` for {@linkcode BUILTIN_FALLBACK_SCORE}). */
  readonly scorer: string;
  /** True when the channel's own scorer did not produce the score. */
  readonly fallback: boolean;
  /** Why the fallback was used: `no_scorer`, `unavailable` or a {@linkcode FailureReason}. */
  readonly reason?: string;
}

/** Scores orders; what the consumer depends on (so it can be tested without the host). */
export type ScoreFn = (orders: readonly OrderData[]) => Promise<readonly ScoreResult[]>;

/**
 * Score used when even the fallback scorer fails (or none is loaded): 0.5, "unknown risk".
 * Reported with `scorer: "builtin"` and counted in `metrics().builtin`.
 */
export const BUILTIN_FALLBACK_SCORE = 0.5;

/** State of one scorer file, as shown by `deno task plugins list`. */
export interface ScorerStatus {
  /** Channel served (`*` for the fallback), or undefined when a discovered file never loaded. */
  readonly channel: string | undefined;
  readonly name: string | undefined;
  /** Absolute path of the plugin file. */
  readonly file: string;
  readonly source: "manifest" | "discovered" | "fallback";
  /**
   * `ready`; `backoff` (failed, restarting soon); `failed` (never loaded); `conflict` (its
   * channel belongs to another scorer); `disabled` (manifest `enabled: false`).
   */
  readonly state: "ready" | "backoff" | "failed" | "conflict" | "disabled";
  readonly lastError: string | undefined;
  /** Reason of the last failure of this plugin, if any. */
  readonly lastFailure: FailureReason | undefined;
  readonly restarts: number;
  /** Time spent in successful calls to it, ms: a slow plugin shows here before it times out. */
  readonly busyMs: number;
  /** Heap cap of its process, MiB. */
  readonly memoryMb: number;
  /** Base deadline per call, ms. */
  readonly deadlineMs: number;
  /** Resident memory of its process now, bytes (undefined when not running or unknown). */
  readonly rssBytes: number | undefined;
  /** `sandbox` (own process) or `in-process` (trusted mode). */
  readonly isolation: "sandbox" | "in-process";
}

/** Failure counters, by scorer and reason. */
export interface ScoringMetrics {
  readonly failures: readonly {
    readonly scorer: string;
    readonly file: string;
    readonly reason: FailureReason;
    readonly count: number;
  }[];
  /** Orders scored by their channel's scorer. */
  readonly scored: number;
  /** Orders scored by the fallback scorer. */
  readonly fallbacks: number;
  /** Orders scored with {@linkcode BUILTIN_FALLBACK_SCORE}. */
  readonly builtin: number;
  /** Hot reloads swapped in. */
  readonly reloads: number;
}
