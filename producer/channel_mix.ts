/**
 * The `--mix` option: which sales channels synthetic orders come from, and how often.
 *
 * @module
 */

import type { SeededRandom } from "./random.ts";

/** Channel names follow the order contract: `^[a-z][a-z0-9_-]{0,31}$`. */
const CHANNEL_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** One channel and its share of the synthetic orders (weights are normalised to sum to 1). */
export interface ChannelWeight {
  readonly channel: string;
  readonly weight: number;
}

/** Default mix: mostly web, a third mobile, a few partner orders. */
export const DEFAULT_CHANNEL_MIX = "web=0.6,partner=0.1,mobile=0.3";

/** Weight of a channel the default mix does not name (the weight of its smallest channel). */
export const NEW_CHANNEL_WEIGHT = 0.1;

/**
 * The mix for a set of channels (the plugins' enabled channels): a channel of
 * {@linkcode DEFAULT_CHANNEL_MIX} keeps its weight there, any other gets
 * {@linkcode NEW_CHANNEL_WEIGHT}, so the repository's three channels give exactly the default
 * mix (same order too, so `--seed` repeats the same orders) and a dropped-in channel gets a
 * small, steady share. Known channels come in the default's order, new ones after, sorted.
 * Returns `undefined` for no channels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mixForChannels } from "./channel_mix.ts";
 * const mix = mixForChannels(["web", "partner", "mobile", "pos"]);
 * assert.deepEqual(mix?.weights.map((w) => w.channel), ["web", "partner", "mobile", "pos"]);
 * assert.equal(mix?.weights.find((w) => w.channel === "pos")?.weight, 0.1 / 1.1);
 * assert.equal(mixForChannels([]), undefined);
 * ```
 */
export function mixForChannels(channels: Iterable<string>): ChannelMix | undefined {
  const defaults = new Map(
    ChannelMix.parse(DEFAULT_CHANNEL_MIX).weights.map((w) => [w.channel, w.weight]),
  );
  const wanted = new Set(channels);
  const names = [
    ...[...defaults.keys()].filter((c) => wanted.has(c)),
    ...[...wanted].filter((c) => !defaults.has(c)).sort(),
  ];
  if (names.length === 0) return undefined;
  return ChannelMix.parse(
    names.map((c) => `${c}=${defaults.get(c) ?? NEW_CHANNEL_WEIGHT}`).join(","),
  );
}

/**
 * A weighted choice of channels, parsed from text like `web=0.6,partner=0.1,mobile=0.3`.
 * Any channel name allowed by the order contract is accepted, so new channels can be exercised.
 */
export class ChannelMix {
  readonly weights: readonly ChannelWeight[];
  readonly #cumulative: readonly number[];

  private constructor(weights: readonly ChannelWeight[]) {
    this.weights = Object.freeze(weights.map((w) => Object.freeze({ ...w })));
    let sum = 0;
    this.#cumulative = Object.freeze(this.weights.map((w) => (sum += w.weight)));
  }

  /**
   * Parse `name=weight,...`. Weights are non-negative numbers, at least one positive; they are
   * normalised, so `web=3,mobile=1` means 75 % web.
   *
   * @throws {SyntaxError} on malformed text or an invalid channel name
   * @throws {RangeError} on negative, non-finite or all-zero weights
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChannelMix } from "./channel_mix.ts";
   * const mix = ChannelMix.parse("web=3,mobile=1");
   * assert.deepEqual(mix.weights.map((w) => w.weight), [0.75, 0.25]);
   * ```
   */
  static parse(text: string): ChannelMix {
    const parts = text.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (parts.length === 0) {
      throw new SyntaxError(`Cannot parse channel mix "${text}": no channels given`);
    }
    const raw: ChannelWeight[] = [];
    const seen = new Set<string>();
    for (const part of parts) {
      const eq = part.indexOf("=");
      const channel = (eq < 0 ? part : part.slice(0, eq)).trim();
      const weightText = eq < 0 ? "1" : part.slice(eq + 1).trim();
      if (!CHANNEL_PATTERN.test(channel)) {
        throw new SyntaxError(
          `Cannot parse channel mix "${text}": "${channel}" is not a valid channel name ` +
            `(lower-case letter, then up to 31 of a-z 0-9 _ -)`,
        );
      }
      if (seen.has(channel)) {
        throw new SyntaxError(`Cannot parse channel mix "${text}": "${channel}" appears twice`);
      }
      seen.add(channel);
      const weight = weightText === "" ? Number.NaN : Number(weightText);
      if (!Number.isFinite(weight) || weight < 0) {
        throw new RangeError(
          `Cannot parse channel mix "${text}": weight of "${channel}" must be a number >= 0, ` +
            `got "${weightText}"`,
        );
      }
      raw.push({ channel, weight });
    }
    const total = raw.reduce((s, w) => s + w.weight, 0);
    if (total <= 0) {
      throw new RangeError(`Cannot parse channel mix "${text}": all weights are zero`);
    }
    return new ChannelMix(raw.map((w) => ({ channel: w.channel, weight: w.weight / total })));
  }

  /** `web=0.6,partner=0.1,mobile=0.3`: the normalised weights, rounded to 3 decimals. */
  toString(): string {
    return this.weights.map((w) => `${w.channel}=${Math.round(w.weight * 1000) / 1000}`).join(",");
  }

  /** Draw one channel according to the weights. */
  pick(random: SeededRandom): string {
    const r = random.next();
    for (let i = 0; i < this.#cumulative.length; i++) {
      if (r < (this.#cumulative[i] ?? 0) && (this.weights[i]?.weight ?? 0) > 0) {
        return this.weights[i]?.channel as string;
      }
    }
    // Rounding can leave the last cumulative value a hair below 1: take the last positive one.
    for (let i = this.weights.length - 1; i >= 0; i--) {
      const w = this.weights[i];
      if (w !== undefined && w.weight > 0) return w.channel;
    }
    throw new RangeError("Cannot pick a channel: the mix has no positive weight");
  }
}
