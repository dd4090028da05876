import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { batch, filter, map, pipe, take } from "./transforms.ts";

/** A counting source: records how many values were pulled and whether it was closed. */
function counted(values: readonly number[]) {
  const state = { pulled: 0, closed: false };
  function* gen(): Generator<number> {
    try {
      for (const v of values) {
        state.pulled++;
        yield v;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: gen() };
}

function countedAsync(values: readonly number[]) {
  const state = { pulled: 0, closed: false };
  async function* gen(): AsyncGenerator<number> {
    try {
      for (const v of values) {
        state.pulled++;
        await Promise.resolve();
        yield v;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: gen() };
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of source) out.push(v);
  return out;
}

Deno.test("pipe() pulls nothing until iterated", () => {
  const { state, source } = counted([1, 2, 3]);
  const out = pipe(source, map((n: number) => n * 2), filter((n: number) => n > 0), batch(2));
  equal(state.pulled, 0);
  deepEqual(out.next().value, [2, 4]);
  equal(state.pulled, 2);
});

Deno.test("take() pulls only what it yields and closes the source", () => {
  const { state, source } = counted([1, 2, 3, 4, 5]);
  deepEqual([...pipe(source, map((n: number) => n + 1), take(2))], [2, 3]);
  equal(state.pulled, 2);
  equal(state.closed, true);
});

Deno.test("take(0) never touches the source", () => {
  const { state, source } = counted([1]);
  deepEqual([...take<number>(0)(source)], []);
  equal(state.pulled, 0);
});

Deno.test("breaking out of a pipe closes the source", () => {
  const { state, source } = counted([1, 2, 3]);
  for (const v of pipe(source, filter((n: number) => n > 0))) {
    if (v === 1) break;
  }
  equal(state.closed, true);
  equal(state.pulled, 1);
});

Deno.test("map() and filter() pass the index", () => {
  deepEqual([...map((s: string, i) => `${i}:${s}`)(["a", "b"])], ["0:a", "1:b"]);
  deepEqual([...filter((_: string, i) => i % 2 === 1)(["a", "b", "c", "d"])], ["b", "d"]);
});

Deno.test("filter() narrows with a type guard", () => {
  const values: (string | number)[] = [1, "a", 2];
  const numbers: number[] = [
    ...filter((v: string | number): v is number => typeof v === "number")(
      values,
    ),
  ];
  deepEqual(numbers, [1, 2]);
});

Deno.test("filter() refuses an async predicate on a sync source", () => {
  const it = filter((_: number) => Promise.resolve(false))([1]);
  throws(() => it.next(), TypeError);
});

Deno.test("batch() yields fresh arrays and a short tail", () => {
  const out = [...batch<number>(3)([1, 2, 3, 4, 5, 6, 7])];
  deepEqual(out, [[1, 2, 3], [4, 5, 6], [7]]);
  equal(out[0] === out[1], false);
  deepEqual([...batch<number>(3)([])], []);
  throws(() => batch(0), RangeError);
  throws(() => batch(1.5), RangeError);
});

Deno.test("transforms reject bad arguments", () => {
  throws(() => take(-1), RangeError);
  throws(() => map(undefined as unknown as (n: number) => number), TypeError);
  throws(() => filter((n: number) => n > 0)(null as unknown as number[]), TypeError);
  throws(() => pipe(42 as unknown as number[]), TypeError);
});

Deno.test("pipe() with no transforms is a lazy pass-through", () => {
  const { state, source } = counted([1, 2]);
  const out = pipe(source);
  equal(state.pulled, 0);
  deepEqual([...out], [1, 2]);
});

Deno.test("async pipe() awaits callbacks, stays lazy and closes the source", async () => {
  const { state, source } = countedAsync([1, 2, 3, 4, 5, 6]);
  const out = pipe(
    source,
    filter(async (n: number) => {
      await Promise.resolve();
      return n % 2 === 0;
    }),
    map((n: number) => Promise.resolve(n * 10)),
    batch(2),
    take(1),
  );
  equal(state.pulled, 0);
  deepEqual(await collect(out), [[20, 40]]);
  equal(state.pulled, 4);
  equal(state.closed, true);
});

Deno.test("async batch() and take() handle short and empty sources", async () => {
  deepEqual(await collect(batch<number>(4)(countedAsync([1, 2, 3]).source)), [[1, 2, 3]]);
  deepEqual(await collect(take<number>(5)(countedAsync([1, 2]).source)), [1, 2]);
  const { state, source } = countedAsync([1]);
  deepEqual(await collect(take<number>(0)(source)), []);
  equal(state.pulled, 0);
});

Deno.test("async transforms propagate errors from callbacks and close the source", async () => {
  const { state, source } = countedAsync([1, 2, 3]);
  const out = pipe(
    source,
    map((n: number) => {
      if (n === 2) throw new RangeError("boom");
      return n;
    }),
  );
  await rejects(collect(out), RangeError);
  equal(state.closed, true);
});

Deno.test("sync transforms propagate errors from the source", () => {
  function* failing(): Generator<number> {
    yield 1;
    throw new SyntaxError("bad");
  }
  throws(() => [...pipe(failing(), map((n: number) => n))], SyntaxError);
});
