/**
 * A small seeded pseudo-random number generator (mulberry32) so synthetic runs are reproducible.
 *
 * Not cryptographic: it only has to spread values evenly and repeat exactly for one seed.
 *
 * @module
 */

/** Seeded pseudo-random source: the same seed always yields the same sequence. */
export class SeededRandom {
  #state: number;

  /**
   * @param seed any 32-bit integer (other numbers are truncated to 32 bits)
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SeededRandom } from "./random.ts";
   * const a = new SeededRandom(7), b = new SeededRandom(7);
   * assert.equal(a.next(), b.next());
   * ```
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Next float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Next integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`Cannot draw an integer: invalid range [${min}, ${max}]`);
    }
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty array, uniformly. */
  pick<T>(values: readonly T[]): T {
    if (values.length === 0) throw new RangeError("Cannot pick from an empty array");
    return values[this.int(0, values.length - 1)] as T;
  }
}

/** A fresh random 32-bit seed from the platform's CSPRNG (for runs without `--seed`). */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
}
