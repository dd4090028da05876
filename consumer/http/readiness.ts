/**
 * A cached, time-limited readiness probe: `/readyz` may be polled often, the sink probe
 * (a `headBucket` or a directory write check) should not be.
 *
 * @module
 */
import { deadline } from "../../core/async.ts";

/** Result of one probe. */
export interface ProbeResult {
  readonly ok: boolean;
  /** Why it failed (already free of secrets is the caller's job). */
  readonly reason?: string;
  /** When the probe finished, epoch ms. */
  readonly at: number;
}

/** Options of {@linkcode CachedProbe}. */
export interface CachedProbeOptions {
  /** How long a result is reused, ms (default 3000). */
  readonly cacheMs?: number;
  /** A probe slower than this fails with "timed out", ms (default 2000). */
  readonly timeoutMs?: number;
  /** Clock, epoch ms. */
  readonly now?: () => number;
}

/**
 * Runs `probe` at most once per `cacheMs`; concurrent callers share the running probe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CachedProbe } from "./readiness.ts";
 *
 * let calls = 0;
 * const p = new CachedProbe(() => { calls++; return Promise.reject(new Error("down")); });
 * assert.equal((await p.check()).reason, "down");
 * assert.equal((await p.check()).ok, false);
 * assert.equal(calls, 1);
 * ```
 */
export class CachedProbe {
  readonly #probe: () => Promise<void>;
  readonly #cacheMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #last: ProbeResult | undefined;
  #running: Promise<ProbeResult> | undefined;

  /** Wraps `probe`. */
  constructor(probe: () => Promise<void>, options: CachedProbeOptions = {}) {
    this.#probe = probe;
    this.#cacheMs = options.cacheMs ?? 3000;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached result when fresh, else a new probe's result. */
  check(): Promise<ProbeResult> {
    const last = this.#last;
    if (last !== undefined && this.#now() - last.at < this.#cacheMs) return Promise.resolve(last);
    this.#running ??= this.#run().finally(() => this.#running = undefined);
    return this.#running;
  }

  async #run(): Promise<ProbeResult> {
    let result: ProbeResult;
    try {
      await deadline(
        this.#probe(),
        this.#timeoutMs,
        () => new RangeError(`sink probe timed out after ${this.#timeoutMs} ms`),
      );
      result = { ok: true, at: this.#now() };
    } catch (error) {
      result = {
        ok: false,
        reason: error instanceof Error ? error.message : String(error),
        at: this.#now(),
      };
    }
    this.#last = Object.freeze(result);
    return this.#last;
  }
}
