/**
 * `--rate` pacing: a token bucket that keeps the long-run rate exact even when timers fire late.
 *
 * @module
 */

import { type Clock, sleep, systemClock } from "./clock.ts";

/** Options of {@linkcode Pacer}. */
export interface PacerOptions {
  /** Orders per second; 0 means unpaced (as fast as possible). */
  readonly rate: number;
  /** Largest burst after an idle period (default: 50 ms worth of tokens, at least 1). */
  readonly burst?: number;
  /** Clock (default {@linkcode systemClock}). */
  readonly clock?: Clock;
}

/**
 * Token bucket: tokens accrue at `rate` per second up to `burst`; each order takes one. Because
 * accrual is computed from elapsed time, a timer that fires late just leaves more tokens, so the
 * average rate stays accurate at 1000/s despite millisecond timer granularity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pacer } from "./pacer.ts";
 * const pacer = new Pacer({ rate: 0 });
 * await pacer.take(); // unpaced: returns at once
 * assert.equal(pacer.rate, 0);
 * ```
 */
export class Pacer {
  readonly rate: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(options: PacerOptions) {
    if (!Number.isFinite(options.rate) || options.rate < 0) {
      throw new RangeError(`Cannot pace: rate must be a number >= 0, got ${options.rate}`);
    }
    this.rate = options.rate;
    this.burst = options.burst ?? Math.max(1, options.rate / 20);
    if (!(this.burst >= 1)) {
      throw new RangeError(`Cannot pace: burst must be >= 1, got ${this.burst}`);
    }
    this.#clock = options.clock ?? systemClock;
    this.#tokens = 1; // the first order goes out at once
    this.#last = this.#clock.now();
  }

  /**
   * Wait for one token. Resolves early when `signal` aborts; returns `false` then, `true` when a
   * token was taken.
   */
  async take(signal?: AbortSignal): Promise<boolean> {
    if (this.rate === 0) return !(signal?.aborted ?? false);
    for (;;) {
      if (signal?.aborted) return false;
      this.#refill();
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return true;
      }
      const waitMs = ((1 - this.#tokens) / this.rate) * 1000;
      await sleep(this.#clock, waitMs, signal);
    }
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#last;
    this.#last = now;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.rate);
    }
  }
}
