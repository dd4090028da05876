/**
 * What the host needs of one running plugin, whether it runs sandboxed (`sandbox.ts`) or in the
 * host's own process (`in_process.ts`, trusted code only), and how a plugin fails.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";
import type { ScorerSpec } from "../sdk/contract.ts";
import type { PluginLimits } from "./manifest.ts";
import type { ScoreReply } from "./protocol.ts";

/**
 * Why a plugin failed, as counted per scorer: `oom` (over its memory cap), `timeout` (a call ran
 * past its deadline), `crash` (the process exited), `protocol` (a message broke the protocol),
 * `flood` (too much output), `invalid_result` / `threw` (one order), `load_error` (a new
 * version did not load).
 */
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
  /** What happened. */
  readonly reason: FailureReason;
  /**
   * @param reason What happened.
   * @param message The detail, e.g. `Cannot score: plugin "web" exited with code 1`.
   */
  constructor(reason: FailureReason, message: string) {
    super(message);
    this.name = "PluginFailure";
    this.reason = reason;
  }
}

/** Thrown when a plugin cannot start; the message says why (never file contents). */
export class ScorerLoadError extends Error {
  /** The plugin file. */
  readonly file: string;
  /**
   * @param file The plugin file.
   * @param message `Cannot load scorer <file>: <why>`.
   * @param options Standard error options (`cause`).
   */
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
  /** Options from the manifest, passed to the plugin's factory. */
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
  /** The validated spec the plugin declared. */
  readonly spec: ScorerSpec;
  /** False once it died or was closed. */
  readonly alive: boolean;
  /** Scores orders; rejects with {@linkcode PluginFailure} when the whole plugin failed. */
  score(orders: readonly OrderData[]): Promise<ScoreReply>;
  /** Resident memory of the plugin's process in bytes, when known. */
  rssBytes(): number | undefined;
  /** Stops the plugin; its process and everything it started are gone when this resolves. */
  close(): Promise<void>;
}

/** Starts a plugin; rejects with {@linkcode ScorerLoadError}. */
export type Launcher = (options: LaunchOptions) => Promise<PluginInstance>;
