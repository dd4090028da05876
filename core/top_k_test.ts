import { deepEqual, equal, throws } from "node:assert/strict";
import { TopK } from "./top_k.ts";

/** mulberry32: a small seeded PRNG so failures are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("TopK keeps the k largest, sorted descending", () => {
  const top = new TopK(3, (n: number) => n);
  for (const n of [5, 1, 9, 3, 7, 2, 8]) top.push(n);
  deepEqual(top.values(), [9, 8, 7]);
  equal(top.size, 3);
  equal(top.min, 7);
});

Deno.test("TopK.push() returns whether the item was kept", () => {
  const top = new TopK(2, (n: number) => n);
  equal(top.push(1), true);
  equal(top.push(2), true);
  equal(top.push(0), false);
  equal(top.push(1), false); // tie with the minimum: the earlier one stays
  equal(top.push(3), true);
  deepEqual(top.values(), [3, 2]);
});

Deno.test("TopK with fewer than k items returns them all", () => {
  const top = new TopK(10, (n: number) => n);
  top.push(2);
  top.push(4);
  deepEqual(top.values(), [4, 2]);
  equal(top.min, 2);
});

Deno.test("TopK with k = 0 keeps nothing", () => {
  const top = new TopK(0, (n: number) => n);
  equal(top.push(1), false);
  equal(top.size, 0);
  equal(top.min, undefined);
  deepEqual(top.values(), []);
});

Deno.test("TopK breaks ties by push order", () => {
  const top = new TopK(3, (x: { id: string; v: number }) => x.v);
  const items = ["a", "b", "c", "d", "e"].map((id) => ({ id, v: 1 }));
  for (const item of items) top.push(item);
  deepEqual(top.values().map((x) => x.id), ["a", "b", "c"]);
});

Deno.test("TopK handles -Infinity, Infinity and -0", () => {
  const top = new TopK(2, (n: number) => n);
  for (const n of [-Infinity, 0, Infinity, -0]) top.push(n);
  deepEqual(top.values(), [Infinity, 0]);
});

Deno.test("TopK rejects a bad k and NaN values", () => {
  throws(() => new TopK(-1, (n: number) => n), RangeError);
  throws(() => new TopK(1.5, (n: number) => n), RangeError);
  const top = new TopK(2, (n: number) => n);
  throws(() => top.push(NaN), RangeError);
  equal(top.size, 0);
});

Deno.test("TopK.clear() empties it", () => {
  const top = new TopK(2, (n: number) => n);
  top.push(1);
  top.clear();
  equal(top.size, 0);
  top.push(5);
  deepEqual(top.values(), [5]);
});

Deno.test("TopK matches a stable sort on random streams (property)", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const random = prng(seed);
    const k = Math.floor(random() * 12);
    const n = Math.floor(random() * 200);
    // Few distinct values so ties are common.
    const stream = Array.from({ length: n }, (_, i) => ({ i, v: Math.floor(random() * 20) }));
    const top = new TopK(k, (x: { v: number }) => x.v);
    for (const x of stream) top.push(x);
    const expected = stream.slice().sort((a, b) => b.v - a.v || a.i - b.i).slice(0, k);
    deepEqual(top.values(), expected, `seed ${seed}`);
    equal(top.size, Math.min(k, n));
    equal(top.min, expected.at(-1));
  }
});
