/**
 * `TopK`: the k largest items of a stream by a numeric value, in O(k) memory.
 *
 * @module
 */

interface Entry<T> {
  readonly item: T;
  readonly value: number;
  readonly seq: number;
}

/**
 * A bounded min-heap keeping the `k` items with the largest `valueOf(item)`.
 *
 * `push` is O(log k), memory is O(k) whatever the stream length. Ties are deterministic: among
 * equal values the item pushed first ranks higher and is kept; a later item with a value equal
 * to the current minimum does not displace it. `values()` returns the kept items sorted by value
 * descending, ties in push order.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { TopK } from "./top_k.ts";
 * const top = new TopK(2, (order: { id: string; total: number }) => order.total);
 * top.push({ id: "a", total: 5 });
 * top.push({ id: "b", total: 50 });
 * top.push({ id: "c", total: 20 });
 * top.push({ id: "d", total: 20 }); // tie with "c": "c" came first and stays
 * deepEqual(top.values().map((o) => o.id), ["b", "c"]);
 * equal(top.size, 2);
 * equal(top.min?.id, "c");
 * ```
 */
export class TopK<T> {
  readonly #k: number;
  readonly #valueOf: (item: T) => number;
  readonly #heap: Entry<T>[] = [];
  #seq = 0;

  /**
   * @param k how many items to keep; an integer >= 0 (RangeError otherwise)
   * @param valueOf the ranking value of an item; must return a non-NaN number
   */
  constructor(k: number, valueOf: (item: T) => number) {
    if (!Number.isSafeInteger(k) || k < 0) {
      throw new RangeError(`Cannot create TopK: k must be an integer >= 0, got ${k}`);
    }
    if (typeof valueOf !== "function") {
      throw new TypeError("Cannot create TopK: valueOf must be a function");
    }
    this.#k = k;
    this.#valueOf = valueOf;
  }

  /** The capacity k. */
  get capacity(): number {
    return this.#k;
  }

  /** How many items are kept (at most k). */
  get size(): number {
    return this.#heap.length;
  }

  /** The lowest-ranked kept item (the next to be displaced), or undefined when empty. */
  get min(): T | undefined {
    return this.#heap[0]?.item;
  }

  /**
   * Offers an item; returns true if it is kept (possibly displacing the current minimum).
   * Throws `RangeError` if `valueOf(item)` is NaN or not a number.
   */
  push(item: T): boolean {
    const value = this.#valueOf(item);
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new RangeError(`Cannot push to TopK: value must be a number, got ${value}`);
    }
    const heap = this.#heap;
    const entry: Entry<T> = { item, value, seq: this.#seq++ };
    if (heap.length < this.#k) {
      heap.push(entry);
      this.#siftUp(heap.length - 1);
      return true;
    }
    const root = heap[0];
    if (root === undefined || !below(root, entry)) return false;
    heap[0] = entry;
    this.#siftDown(0);
    return true;
  }

  /** The kept items, highest value first (ties in push order). A fresh array. */
  values(): T[] {
    return this.#heap.slice().sort(byRankDescending).map((entry) => entry.item);
  }

  /** Removes every item. */
  clear(): void {
    this.#heap.length = 0;
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const entry = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!below(entry, parent)) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = entry;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const entry = heap[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && below(heap[right]!, heap[left]!)) child = right;
      const childEntry = heap[child]!;
      if (!below(childEntry, entry)) break;
      heap[index] = childEntry;
      index = child;
    }
    heap[index] = entry;
  }
}

/** True when `a` ranks strictly below `b`: smaller value, or equal value and pushed later. */
function below<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.value < b.value || (a.value === b.value && a.seq > b.seq);
}

function byRankDescending<T>(a: Entry<T>, b: Entry<T>): number {
  return below(a, b) ? 1 : below(b, a) ? -1 : 0;
}
