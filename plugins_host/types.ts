/**
 * The scoring host's types: what it gives its callers (results, status rows, metrics) and what
 * it needs of one running plugin, sandboxed (`sandbox.ts`) or trusted (`in_process.ts`).
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";
import type { ScorerSpec } from "../sdk/contract.ts";
import type { PluginLimits } from "./manifest.ts";
import type { ScoreReply } from "./protocol.ts";

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

/** Score when even the fallback scorer fails or none is loaded ("unknown risk"). */
export const BUILTIN_FALLBACK_SCORE = 0.5;
/** The `scorer` of {@linkcode BUILTIN_FALLBACK_SCORE}; no plugin may take this name. */
export const BUILTIN_SCORER = "builtin";

/** State of one scorer file, as shown by `deno task plugins list`, with its limits. */
export interface ScorerStatus extends PluginLimits {
  /** Channel served (`*` for the fallback), or undefined when a discovered file never loaded. */
  readonly channel: string | undefined;
  readonly name: string | undefined;
  /** Absolute path of the plugin file. */
  readonly file: string;
  readonly source: "manifest" | "discovered" | "fallback";
  /** `backoff`: failed, restarting soon; `failed`: never loaded; `conflict`: channel taken. */
  readonly state: "ready" | "backoff" | "failed" | "conflict" | "disabled";
  readonly lastError: string | undefined;
  readonly lastFailure: FailureReason | undefined;
  readonly restarts: number;
  /** Time spent in successful calls to it, ms: a slow plugin shows here before it times out. */
  readonly busyMs: number;
  /** Resident memory of its process now, bytes (undefined when not running or unknown). */
  readonly rssBytes: number | undefined;
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

/** Why a plugin failed (the README's limits table says when each happens). */
export type FailureReason =
  | "oom"
  | "timeout"
  | "crash"
  | "protocol"
  | "flood"
  | "invalid_result"
  | "threw"
  | "load_error";

/** A whole-plugin failure: every call in flight gets the fallback and the plugin restarts. */
export class PluginFailure extends Error {
  readonly reason: FailureReason;
  /** `message` is the detail, e.g. `Cannot score: plugin "web" exited with code 1`. */
  constructor(reason: FailureReason, message: string) {
    super(message);
    this.name = "PluginFailure";
    this.reason = reason;
  }
}

/** Thrown when a plugin cannot start: `Cannot load scorer <file>: <why>` (never file contents). */
export class ScorerLoadError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ScorerLoadError";
    this.file = file;
  }
}

/** How to start one plugin. */
export interface LaunchOptions {
  /** Absolute path of the plugin file (inside `pluginsDir`). */
  readonly file: string;
  /** The plugins directory (real path): the only files the plugin may import besides the SDK. */
  readonly pluginsDir: string;
  /** Options from the manifest for the plugin's factory. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly limits: PluginLimits;
  /** Name used in log lines before the spec is known. */
  readonly label: string;
  readonly loadTimeoutMs: number;
  /** Where the plugin's own log lines go (already prefixed and sanitized). */
  readonly log: (line: string) => void;
  /** Called once when the plugin dies; `idle` when no call was in flight. */
  readonly onDeath: (failure: PluginFailure, idle: boolean) => void;
}

/** One loaded plugin. */
export interface PluginInstance {
  readonly spec: ScorerSpec;
  /** False once it died or was closed. */
  readonly alive: boolean;
  /**
   * Scores orders; rejects with {@linkcode PluginFailure} when the whole plugin failed.
   * `deadlineMs` replaces the plugin's own deadline (the first call after a start gets longer).
   */
  score(orders: readonly OrderData[], deadlineMs?: number): Promise<ScoreReply>;
  /** Resident memory of the plugin's process in bytes, when known. */
  rssBytes(): number | undefined;
  /** Stops the plugin after the calls in flight; its process tree is gone when this resolves. */
  close(): Promise<void>;
}

/** Starts a plugin; rejects with {@linkcode ScorerLoadError}. */
export type Launcher = (options: LaunchOptions) => Promise<PluginInstance>;
