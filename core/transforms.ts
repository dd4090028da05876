/**
 * Lazy, composable transforms over sync and async iterables: {@link filter}, {@link map},
 * {@link batch}, {@link take}, combined with {@link pipe}.
 *
 * Every transform is a generator: nothing is pulled from the source until the result is
 * iterated, each step pulls only what it needs, and stopping early (`break`, {@link take})
 * closes the source (its `finally` blocks run). A transform given an `AsyncIterable` returns an
 * `AsyncIterableIterator` and awaits the callback's result; given an `Iterable` it returns an
 * `IterableIterator`.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { batch, filter, map, pipe, take } from "./transforms.ts";
 * const out = pipe(
 *   [1, 2, 3, 4, 5, 6, 7, 8],
 *   filter((n: number) => n % 2 === 0),
 *   map((n: number) => n * 10),
 *   batch(2),
 *   take(1),
 * );
 * deepEqual([...out], [[20, 40]]);
 * ```
 *
 * @module
 */

/**
 * A lazy step from `A` to `B`. Sync in, sync out; async in, async out (awaiting the callback).
 */
export interface Transform<A, B> {
  /** Transforms a sync iterable lazily. */
  (source: Iterable<A>): IterableIterator<B>;
  /** Transforms an async iterable lazily, awaiting callback results. */
  (source: AsyncIterable<A>): AsyncIterableIterator<Awaited<B>>;
}

function isAsync<T>(source: Iterable<T> | AsyncIterable<T>): source is AsyncIterable<T> {
  return typeof (source as Partial<AsyncIterable<T>>)[Symbol.asyncIterator] === "function";
}

function checkSource(name: string, source: unknown): void {
  if (
    source === null || source === undefined ||
    (typeof (source as Partial<Iterable<unknown>>)[Symbol.iterator] !== "function" &&
      typeof (source as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== "function")
  ) {
    throw new TypeError(`Cannot apply ${name}(): source is not iterable`);
  }
}

function checkFunction(name: string, fn: unknown): void {
  if (typeof fn !== "function") throw new TypeError(`Cannot create ${name}(): expected a function`);
}

function isThenable(value: unknown): boolean {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * Keeps the values for which `predicate(value, index)` is truthy. On a sync source the predicate
 * must not return a promise (a `TypeError` says to use an async source instead of treating the
 * promise as truthy).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { filter } from "./transforms.ts";
 * deepEqual([...filter((s: string) => s.length > 1)(["a", "bb", "ccc"])], ["bb", "ccc"]);
 * ```
 */
export function filter<A, B extends A>(
  predicate: (value: A, index: number) => value is B,
): Transform<A, B>;
/** Keeps values for which the (possibly async, for async sources) predicate is truthy. */
export function filter<A>(
  predicate: (value: A, index: number) => boolean | Promise<boolean>,
): Transform<A, A>;
export function filter<A>(
  predicate: (value: A, index: number) => boolean | Promise<boolean>,
): Transform<A, A> {
  checkFunction("filter", predicate);
  return ((source: Iterable<A> | AsyncIterable<A>) => {
    checkSource("filter", source);
    return isAsync(source) ? filterAsync(source, predicate) : filterSync(source, predicate);
  }) as Transform<A, A>;
}

function* filterSync<A>(
  source: Iterable<A>,
  predicate: (value: A, index: number) => unknown,
): Generator<A, void, undefined> {
  let index = 0;
  for (const value of source) {
    const keep = predicate(value, index++);
    if (isThenable(keep)) {
      throw new TypeError(
        "Cannot filter a sync iterable with an async predicate: use an async source",
      );
    }
    if (keep) yield value;
  }
}

async function* filterAsync<A>(
  source: AsyncIterable<A>,
  predicate: (value: A, index: number) => unknown,
): AsyncGenerator<A, void, undefined> {
  let index = 0;
  for await (const value of source) {
    if (await predicate(value, index++)) yield value;
  }
}

/**
 * Maps each value with `mapper(value, index)`; on an async source, a promise result is awaited.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { map } from "./transforms.ts";
 * deepEqual([...map((n: number, i) => n + i)([10, 10, 10])], [10, 11, 12]);
 * ```
 */
export function map<A, B>(mapper: (value: A, index: number) => B): Transform<A, B> {
  checkFunction("map", mapper);
  return ((source: Iterable<A> | AsyncIterable<A>) => {
    checkSource("map", source);
    return isAsync(source) ? mapAsync(source, mapper) : mapSync(source, mapper);
  }) as Transform<A, B>;
}

function* mapSync<A, B>(
  source: Iterable<A>,
  mapper: (value: A, index: number) => B,
): Generator<B, void, undefined> {
  let index = 0;
  for (const value of source) yield mapper(value, index++);
}

async function* mapAsync<A, B>(
  source: AsyncIterable<A>,
  mapper: (value: A, index: number) => B,
): AsyncGenerator<Awaited<B>, void, undefined> {
  let index = 0;
  for await (const value of source) yield await mapper(value, index++);
}

/**
 * Groups values into arrays of `size` (an integer >= 1, RangeError otherwise); the last array
 * may be shorter. Each array is fresh and is yielded as soon as it is full.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { batch } from "./transforms.ts";
 * deepEqual([...batch<number>(2)([1, 2, 3, 4, 5])], [[1, 2], [3, 4], [5]]);
 * ```
 */
export function batch<A>(size: number): Transform<A, A[]> {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`Cannot create batch(): size must be an integer >= 1, got ${size}`);
  }
  return ((source: Iterable<A> | AsyncIterable<A>) => {
    checkSource("batch", source);
    return isAsync(source) ? batchAsync(source, size) : batchSync(source, size);
  }) as Transform<A, A[]>;
}

function* batchSync<A>(source: Iterable<A>, size: number): Generator<A[], void, undefined> {
  let chunk: A[] = [];
  for (const value of source) {
    chunk.push(value);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function* batchAsync<A>(
  source: AsyncIterable<A>,
  size: number,
): AsyncGenerator<A[], void, undefined> {
  let chunk: A[] = [];
  for await (const value of source) {
    chunk.push(value);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Yields at most `count` values (an integer >= 0, RangeError otherwise), then closes the
 * source. It never pulls a value it will not yield; `take(0)` does not touch the source.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { take } from "./transforms.ts";
 * function* naturals() { for (let n = 0; ; n++) yield n; }
 * deepEqual([...take<number>(3)(naturals())], [0, 1, 2]);
 * ```
 */
export function take<A>(count: number): Transform<A, A> {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`Cannot create take(): count must be an integer >= 0, got ${count}`);
  }
  return ((source: Iterable<A> | AsyncIterable<A>) => {
    checkSource("take", source);
    return isAsync(source) ? takeAsync(source, count) : takeSync(source, count);
  }) as Transform<A, A>;
}

function* takeSync<A>(source: Iterable<A>, count: number): Generator<A, void, undefined> {
  if (count === 0) return;
  let taken = 0;
  for (const value of source) {
    yield value;
    if (++taken >= count) return;
  }
}

async function* takeAsync<A>(
  source: AsyncIterable<A>,
  count: number,
): AsyncGenerator<A, void, undefined> {
  if (count === 0) return;
  let taken = 0;
  for await (const value of source) {
    yield value;
    if (++taken >= count) return;
  }
}

/**
 * Applies transforms left to right: `pipe(source, f, g)` is `g(f(source))`. Sync sources give a
 * sync iterator, async sources an async one. Nothing runs until the result is iterated.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { map, pipe, take } from "./transforms.ts";
 * async function* ticks() { for (let n = 1; ; n++) yield n; }
 * const out: number[] = [];
 * for await (const n of pipe(ticks(), map((n: number) => Promise.resolve(n * n)), take(3))) out.push(n);
 * deepEqual(out, [1, 4, 9]);
 * ```
 */
export function pipe<A>(source: Iterable<A>): IterableIterator<A>;
/** One transform over a sync source. */
export function pipe<A, B>(source: Iterable<A>, t1: Transform<A, B>): IterableIterator<B>;
/** Two transforms over a sync source. */
export function pipe<A, B, C>(
  source: Iterable<A>,
  t1: Transform<A, B>,
  t2: Transform<B, C>,
): IterableIterator<C>;
/** Three transforms over a sync source. */
export function pipe<A, B, C, D>(
  source: Iterable<A>,
  t1: Transform<A, B>,
  t2: Transform<B, C>,
  t3: Transform<C, D>,
): IterableIterator<D>;
/** Four transforms over a sync source. */
export function pipe<A, B, C, D, E>(
  source: Iterable<A>,
  t1: Transform<A, B>,
  t2: Transform<B, C>,
  t3: Transform<C, D>,
  t4: Transform<D, E>,
): IterableIterator<E>;
/** Five transforms over a sync source. */
export function pipe<A, B, C, D, E, F>(
  source: Iterable<A>,
  t1: Transform<A, B>,
  t2: Transform<B, C>,
  t3: Transform<C, D>,
  t4: Transform<D, E>,
  t5: Transform<E, F>,
): IterableIterator<F>;
/** An async source, no transform. */
export function pipe<A>(source: AsyncIterable<A>): AsyncIterableIterator<A>;
/** One transform over an async source. */
export function pipe<A, B>(
  source: AsyncIterable<A>,
  t1: Transform<A, B>,
): AsyncIterableIterator<Awaited<B>>;
/** Two transforms over an async source. */
export function pipe<A, B, C>(
  source: AsyncIterable<A>,
  t1: Transform<A, B>,
  t2: Transform<Awaited<B>, C>,
): AsyncIterableIterator<Awaited<C>>;
/** Three transforms over an async source. */
export function pipe<A, B, C, D>(
  source: AsyncIterable<A>,
  t1: Transform<A, B>,
  t2: Transform<Awaited<B>, C>,
  t3: Transform<Awaited<C>, D>,
): AsyncIterableIterator<Awaited<D>>;
/** Four transforms over an async source. */
export function pipe<A, B, C, D, E>(
  source: AsyncIterable<A>,
  t1: Transform<A, B>,
  t2: Transform<Awaited<B>, C>,
  t3: Transform<Awaited<C>, D>,
  t4: Transform<Awaited<D>, E>,
): AsyncIterableIterator<Awaited<E>>;
/** Five transforms over an async source. */
export function pipe<A, B, C, D, E, F>(
  source: AsyncIterable<A>,
  t1: Transform<A, B>,
  t2: Transform<Awaited<B>, C>,
  t3: Transform<Awaited<C>, D>,
  t4: Transform<Awaited<D>, E>,
  t5: Transform<Awaited<E>, F>,
): AsyncIterableIterator<Awaited<F>>;
export function pipe(
  source: Iterable<unknown> | AsyncIterable<unknown>,
  ...transforms: Transform<unknown, unknown>[]
): IterableIterator<unknown> | AsyncIterableIterator<unknown> {
  checkSource("pipe", source);
  for (const t of transforms) checkFunction("pipe", t);
  if (isAsync(source)) {
    let out: AsyncIterable<unknown> = source;
    for (const t of transforms) out = t(out);
    return transforms.length === 0 ? passAsync(out) : out as AsyncIterableIterator<unknown>;
  }
  let out: Iterable<unknown> = source;
  for (const t of transforms) out = t(out);
  return transforms.length === 0 ? passSync(out) : out as IterableIterator<unknown>;
}

function* passSync<A>(source: Iterable<A>): Generator<A, void, undefined> {
  yield* source;
}

async function* passAsync<A>(source: AsyncIterable<A>): AsyncGenerator<A, void, undefined> {
  yield* source;
}
