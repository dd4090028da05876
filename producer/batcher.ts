/**
 * Producer-side batching: kafkajs has no `linger.ms`, so orders are grouped here before each
 * `send()`, with a bound on concurrent sends that pushes back on the source.
 *
 * @module
 */

import { type Clock, systemClock, type TimerHandle } from "./clock.ts";

/** A batch's `send()` rejected; `cause` is its error. */
export class BatchSendError extends Error {
  override name = "BatchSendError";
}

/** Options of {@linkcode Batcher}. */
export interface BatcherOptions<T> {
  /** Longest time an item waits for its batch to fill, in ms (0 = send at once). */
  readonly lingerMs: number;
  /** Most items in one batch. */
  readonly batchSize: number;
  /** Most batches being sent at once; further `add()` calls wait (backpressure). */
  readonly maxInFlight: number;
  /**
   * Sends one batch. It should settle every item itself (delivery reports); a rejection is kept
   * and rethrown by {@linkcode Batcher.flush}, and makes later `add()` calls throw.
   */
  readonly send: (batch: T[]) => Promise<void>;
  /** Clock for the linger timer (default {@linkcode systemClock}). */
  readonly clock?: Clock;
}

/**
 * Groups items into batches of at most `batchSize`, sent when full or when the oldest item has
 * waited `lingerMs`. At most `maxInFlight` batches are in `send()` at once; while that many are
 * busy and the next batch is full, `add()` does not resolve, which slows the caller down.
 *
 * Callers must `await` each `add()` before the next one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Batcher } from "./batcher.ts";
 * const sent: number[][] = [];
 * const b = new Batcher<number>({
 *   lingerMs: 1000, batchSize: 2, maxInFlight: 1, send: async (xs) => { sent.push(xs); },
 * });
 * for (const x of [1, 2, 3]) await b.add(x);
 * await b.flush();
 * assert.deepEqual(sent, [[1, 2], [3]]);
 * ```
 */
export class Batcher<T> {
  readonly #options: BatcherOptions<T>;
  readonly #clock: Clock;
  #buffer: T[] = [];
  #timer: TimerHandle | undefined;
  #lingerDue = false;
  #inFlight = 0;
  #sending = new Set<Promise<void>>();
  #waiters: (() => void)[] = [];
  #error: unknown = undefined;
  #failed = false;
  #batches = 0;

  constructor(options: BatcherOptions<T>) {
    for (
      const [name, value, min] of [
        ["lingerMs", options.lingerMs, 0],
        ["batchSize", options.batchSize, 1],
        ["maxInFlight", options.maxInFlight, 1],
      ] as const
    ) {
      if (
        !Number.isFinite(value) || value < min || (name !== "lingerMs" && !Number.isInteger(value))
      ) {
        throw new RangeError(`Cannot create batcher: ${name} must be >= ${min}, got ${value}`);
      }
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Items waiting for their batch. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Batches currently being sent. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Batches handed to `send()` so far. */
  get batches(): number {
    return this.#batches;
  }

  /**
   * Add one item. Resolves when the item is buffered and the buffer has room for the next one;
   * waits while the batch is full and `maxInFlight` sends are busy.
   */
  async add(item: T): Promise<void> {
    this.#throwIfFailed();
    this.#buffer.push(item);
    const linger = this.#options.lingerMs;
    if (linger === 0) this.#lingerDue = true; // no linger: go as soon as a send slot is free
    else if (this.#buffer.length === 1) this.#startTimer();
    const full = this.#buffer.length >= this.#options.batchSize;
    if (!full && linger > 0) return;
    if (this.#inFlight < this.#options.maxInFlight) {
      this.#dispatch();
      return;
    }
    if (!full) return; // linger 0 and all slots busy: keep filling, sent when a slot frees
    while (this.#inFlight >= this.#options.maxInFlight) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
      this.#throwIfFailed();
    }
    // A finished send may have taken the buffer already (linger due).
    if (this.#buffer.length >= this.#options.batchSize) this.#dispatch();
  }

  /** Send what is buffered now and wait until every batch has settled; rethrows a send failure. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.#buffer.length > 0 && this.#inFlight < this.#options.maxInFlight) {
        this.#dispatch();
        continue;
      }
      if (this.#sending.size === 0) break;
      await Promise.race(this.#sending);
    }
    this.#throwIfFailed();
  }

  #startTimer(): void {
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#buffer.length === 0) return;
      if (this.#inFlight < this.#options.maxInFlight) this.#dispatch();
      else this.#lingerDue = true; // sent as soon as a send slot frees up
    }, this.#options.lingerMs);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #dispatch(): void {
    this.#clearTimer();
    this.#lingerDue = false;
    const batch = this.#buffer.splice(0, this.#options.batchSize);
    if (this.#buffer.length > 0 && this.#options.lingerMs > 0) this.#startTimer();
    this.#inFlight++;
    this.#batches++;
    let promise: Promise<void>;
    try {
      promise = this.#options.send(batch);
    } catch (error) {
      promise = Promise.reject(error);
    }
    const tracked: Promise<void> = promise.then(
      () => {},
      (error: unknown) => {
        if (!this.#failed) {
          this.#failed = true;
          this.#error = error;
        }
      },
    ).finally(() => {
      this.#sending.delete(tracked);
      this.#inFlight--;
      if (this.#lingerDue && this.#buffer.length > 0) this.#dispatch();
      const waiter = this.#waiters.shift();
      waiter?.();
    });
    this.#sending.add(tracked);
  }

  #throwIfFailed(): void {
    if (this.#failed) {
      throw new BatchSendError(`Cannot continue batching: a send failed`, { cause: this.#error });
    }
  }
}
