/**
 * Synthetic orders: realistic, valid and reproducible with a seed.
 *
 * @module
 */

import type { OrderData } from "../core/order.ts";
import { ChannelMix, DEFAULT_CHANNEL_MIX } from "./channel_mix.ts";
import { randomSeed, SeededRandom } from "./random.ts";

/** One line item on the wire (`unit_price` in major currency units, at most 2 decimals). */
export interface SyntheticItem {
  readonly sku: string;
  readonly quantity: number;
  readonly unit_price: number;
}

/** A synthetic order in the wire shape (`RawOrder`) that `Order.fromRaw` accepts. */
export interface SyntheticOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly channel: string;
  readonly items: readonly SyntheticItem[];
  readonly total: number;
  readonly currency: string;
  readonly created_at: string;
}

/** Options of {@linkcode SyntheticOrders}. */
export interface SyntheticOptions {
  /** Seed for a reproducible run; a random one when absent. */
  readonly seed?: number;
  /** Channel mix (default {@linkcode DEFAULT_CHANNEL_MIX}). */
  readonly mix?: ChannelMix;
  /** Clock for `created_at` (epoch ms); `Date.now` by default. */
  readonly now?: () => number;
  /** Number of distinct customers (default 500). */
  readonly customers?: number;
}

interface CatalogEntry {
  readonly sku: string;
  readonly priceCents: number;
}

/** The catalogue does not depend on the run's seed, so a SKU always has the same price. */
const CATALOG_SEED = 0x5eed;
const CATALOG_SIZE = 48;
const CURRENCIES: readonly { readonly code: string; readonly upTo: number }[] = Object.freeze([
  { code: "USD", upTo: 0.7 },
  { code: "EUR", upTo: 0.9 },
  { code: "GBP", upTo: 1 },
]);

function buildCatalog(): readonly CatalogEntry[] {
  const random = new SeededRandom(CATALOG_SEED);
  const entries: CatalogEntry[] = [];
  for (let i = 1; i <= CATALOG_SIZE; i++) {
    // Mostly cheap goods, a long tail of expensive ones: $1.99 .. ~$900.
    const dollars = Math.floor(Math.exp(random.next() * Math.log(900))) + 1;
    const cents = random.pick([0, 49, 50, 95, 99]);
    entries.push(
      Object.freeze({
        sku: `SKU-${String(i).padStart(4, "0")}`,
        priceCents: dollars * 100 + cents,
      }),
    );
  }
  return Object.freeze(entries);
}

/**
 * An endless, seeded stream of valid orders. The order IDs are `ord-<run id>-<n>`: the run id
 * comes from the seed (so `--seed 42` repeats exactly, IDs included) or, without a seed, from 64
 * random bits (so runs never collide). Line totals are computed in integer cents, so
 * `sum(quantity * unit_price) === total` exactly at 2 decimals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SyntheticOrders } from "./synthetic.ts";
 * const a = new SyntheticOrders({ seed: 1, now: () => 0 });
 * const b = new SyntheticOrders({ seed: 1, now: () => 0 });
 * assert.deepEqual(a.next(), b.next());
 * ```
 */
export class SyntheticOrders {
  /** The run id embedded in every order ID of this generator. */
  readonly runId: string;
  /** The seed in use (random when none was given). */
  readonly seed: number;
  readonly #random: SeededRandom;
  #mix: ChannelMix;
  readonly #now: () => number;
  readonly #customers: number;
  readonly #catalog: readonly CatalogEntry[];
  #n = 0;
  #lastMs = Number.NaN;
  #lastIso = "";

  constructor(options: SyntheticOptions = {}) {
    this.seed = options.seed ?? randomSeed();
    this.#random = new SeededRandom(this.seed);
    this.runId = options.seed === undefined
      ? randomRunId()
      : `s${(options.seed >>> 0).toString(36)}`;
    this.#mix = options.mix ?? ChannelMix.parse(DEFAULT_CHANNEL_MIX);
    this.#now = options.now ?? Date.now;
    this.#customers = options.customers ?? 500;
    if (!Number.isInteger(this.#customers) || this.#customers < 1) {
      throw new RangeError(`Cannot create synthetic orders: customers must be >= 1`);
    }
    this.#catalog = buildCatalog();
  }

  /** The channel mix in use. */
  get mix(): ChannelMix {
    return this.#mix;
  }

  /**
   * Replaces the channel mix from the next order on (the producer follows the plugins' enabled
   * channels during a run). The seeded draws go on from where they are.
   */
  setMix(mix: ChannelMix): void {
    this.#mix = mix;
  }

  /** How many orders were generated so far. */
  get generated(): number {
    return this.#n;
  }

  /** The next order (frozen). */
  next(): SyntheticOrder {
    const order = this.#draw();
    for (const item of order.items) Object.freeze(item);
    Object.freeze(order.items);
    return Object.freeze(order);
  }

  /**
   * The next order as JSON text with its ID: the same order {@linkcode SyntheticOrders.next}
   * would return, without freezing it first (frozen objects stringify ~2x slower; this is the
   * producer's hot path).
   */
  nextJson(): { readonly orderId: string; readonly json: string } {
    const order = this.#draw();
    return { orderId: order.orderId, json: JSON.stringify(order) };
  }

  /**
   * Like {@linkcode SyntheticOrders.nextJson}, plus the order as scorers see it
   * ({@linkcode OrderData}: camelCase, `unitPrice`), for scoring at the edge. Same draws, so a
   * seed gives the same orders whichever method is used.
   */
  nextWithData(): { readonly orderId: string; readonly json: string; readonly order: OrderData } {
    const o = this.#draw();
    const order: OrderData = {
      orderId: o.orderId,
      customerId: o.customerId,
      channel: o.channel,
      items: o.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPrice: i.unit_price })),
      total: o.total,
      currency: o.currency,
      createdAt: o.created_at,
    };
    return { orderId: o.orderId, json: JSON.stringify(o), order };
  }

  #draw(): { -readonly [K in keyof SyntheticOrder]: SyntheticOrder[K] } & {
    items: SyntheticItem[];
  } {
    const random = this.#random;
    const n = ++this.#n;
    const channel = this.#mix.pick(random);
    // A few customers order a lot: square the uniform draw to skew towards low numbers.
    const customer = 1 + Math.floor(random.next() ** 2 * this.#customers);
    const itemCount = random.int(1, 5);
    const maxQuantity = channel === "partner" ? 40 : channel === "mobile" ? 3 : 5;
    const items: SyntheticItem[] = [];
    let totalCents = 0;
    for (let i = 0; i < itemCount; i++) {
      const entry = random.pick(this.#catalog);
      const quantity = random.int(1, maxQuantity);
      totalCents += entry.priceCents * quantity;
      items.push({ sku: entry.sku, quantity, unit_price: entry.priceCents / 100 });
    }
    const r = random.next();
    const currency = CURRENCIES.find((c) => r < c.upTo)?.code ?? "USD";
    return {
      orderId: `ord-${this.runId}-${n}`,
      customerId: `cust-${customer}`,
      channel,
      items,
      total: totalCents / 100,
      currency,
      created_at: this.#createdAt(),
    };
  }

  /** `now` as ISO-8601, formatted once per millisecond. */
  #createdAt(): string {
    const ms = this.#now();
    if (ms !== this.#lastMs) {
      this.#lastMs = ms;
      this.#lastIso = new Date(ms).toISOString();
    }
    return this.#lastIso;
  }
}

function randomRunId(): string {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return `r${(words[0] ?? 0).toString(36)}${(words[1] ?? 0).toString(36)}`;
}
