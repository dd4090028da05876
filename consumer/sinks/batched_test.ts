import assert from "node:assert/strict";
import { BatchedSink } from "./batched.ts";
import { readableSegments, segmentKey } from "./segment_key.ts";
import { LocalSink } from "./local.ts";
import type { RecordPosition, Sink } from "./types.ts";

const enc = new TextEncoder();
const line = (s: string) => enc.encode(s + "\n");

/** An in-memory sink that records every write and can be switched to fail. */
class MemorySink implements Sink {
  readonly name = "memory";
  readonly objects = new Map<string, string>();
  readonly writes: string[] = [];
  failing = false;
  /** Fails only the writes whose key contains this text. */
  failingKey: string | undefined;
  write(key: string, body: Uint8Array, _p: RecordPosition): Promise<void> {
    if (this.failing || (this.failingKey !== undefined && key.includes(this.failingKey))) {
      return Promise.reject(new RangeError(`Cannot write ${key}: outage`));
    }
    this.writes.push(key);
    this.objects.set(key, new TextDecoder().decode(body));
    return Promise.resolve();
  }
  remove(key: string): Promise<void> {
    this.objects.delete(key);
    return Promise.resolve();
  }
  probe(): Promise<void> {
    return this.failing ? Promise.reject(new RangeError("down")) : Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("BatchedSink.flushSealed() writes aligned segments per dt, named after their offset range", async () => {
  const inner = new MemorySink();
  const sink = new BatchedSink({ inner, records: 10, maxAgeMs: 60_000 });
  const written: string[] = [];
  // Partition 2 starting mid-segment (as after a commit at 7), gaps in offsets, two dates.
  for (const o of [7, 8, 9, 10, 12, 13, 21]) {
    const dt = o % 2 === 0 ? "2026-11-01" : "2026-11-02";
    sink.append(2, {
      offset: String(o),
      dt,
      body: line(`r${o}`),
      onWritten: () => written.push(String(o)),
    });
  }
  // 9 is the last offset of [0, 10): that segment sealed at once; 21 sealed [10, 20).
  assert.deepEqual(await sink.flushSealed(2), ["7", "8", "9", "10", "12", "13"]);
  assert.deepEqual(Object.fromEntries(inner.objects), {
    [segmentKey("2026-11-02", 2, 7n, 9n)]: "r7\nr9\n",
    [segmentKey("2026-11-01", 2, 8n, 8n)]: "r8\n",
    [segmentKey("2026-11-01", 2, 10n, 12n)]: "r10\nr12\n",
    [segmentKey("2026-11-02", 2, 13n, 13n)]: "r13\n",
  });
  assert.deepEqual(written, ["7", "8", "9", "10", "12", "13"]);
  assert.equal(sink.unwritten(2), 1);
  assert.deepEqual(await sink.flushSealed(2), []);
  await sink.close();
  assert.equal(inner.objects.get(segmentKey("2026-11-02", 2, 21n, 21n)), "r21\n");
  assert.deepEqual(written.at(-1), "21");
});

Deno.test("BatchedSink.append() rejects offsets that do not ascend", async () => {
  const sink = new BatchedSink({ inner: new MemorySink(), records: 10 });
  sink.append(0, { offset: "5", dt: "2026-11-01", body: line("a") });
  assert.throws(
    () => sink.append(0, { offset: "5", dt: "2026-11-01", body: line("b") }),
    RangeError,
  );
  sink.discard(0);
  sink.append(0, { offset: "3", dt: "2026-11-01", body: line("c") }); // after a discard: fine
  await sink.close();
});

Deno.test("BatchedSink writes a segment still filling after maxAgeMs as a new version, then removes the old one", async () => {
  const inner = new MemorySink();
  const sink = new BatchedSink({ inner, records: 100, maxAgeMs: 50 });
  try {
    sink.append(0, { offset: "0", dt: "2026-11-01", body: line("a") });
    assert.equal(inner.writes.length, 0);
    await new Promise((r) => setTimeout(r, 200));
    const v1 = segmentKey("2026-11-01", 0, 0n, 0n);
    assert.equal(inner.objects.get(v1), "a\n");
    assert.equal(sink.unwritten(0), 0);
    sink.append(0, { offset: "1", dt: "2026-11-01", body: line("b") });
    await new Promise((r) => setTimeout(r, 200));
    const v2 = segmentKey("2026-11-01", 0, 0n, 1n);
    assert.deepEqual(inner.writes, [v1, v2]);
    assert.deepEqual([...inner.objects.keys()], [v2], "the smaller version is removed");
    assert.equal(inner.objects.get(v2), "a\nb\n");
    // Not complete: nothing to report for commit.
    assert.deepEqual(await sink.flushSealed(0), []);
  } finally {
    await sink.close();
  }
});

Deno.test("BatchedSink.flushSealed() rejects on an outage and writes the same segment on retry", async () => {
  const inner = new MemorySink();
  const sink = new BatchedSink({ inner, records: 2, maxAgeMs: 60_000 });
  try {
    for (const o of ["0", "1", "2", "3"]) {
      sink.append(1, { offset: o, dt: "2026-11-01", body: line(o) });
    }
    inner.failing = true;
    await assert.rejects(sink.flushSealed(1), /outage/);
    assert.equal(sink.unwritten(1), 4);
    inner.failing = false;
    assert.deepEqual(await sink.flushSealed(1), ["0", "1", "2", "3"]);
    assert.deepEqual(inner.writes, [
      segmentKey("2026-11-01", 1, 0n, 1n),
      segmentKey("2026-11-01", 1, 2n, 3n),
    ]);
  } finally {
    await sink.close();
  }
});

Deno.test("BatchedSink.flushSealed() returns the offsets written before a failed segment on the next call", async () => {
  const inner = new MemorySink();
  const sink = new BatchedSink({ inner, records: 2, maxAgeMs: 60_000 });
  try {
    sink.append(1, { offset: "0", dt: "2026-11-01", body: line("0") });
    sink.append(1, { offset: "1", dt: "2026-11-01", body: line("1") });
    sink.append(1, { offset: "2", dt: "2026-11-02", body: line("2") });
    sink.append(1, { offset: "3", dt: "2026-11-02", body: line("3") });
    inner.failingKey = "dt=2026-11-02";
    await assert.rejects(sink.flushSealed(1), /outage/); // the first segment is written
    assert.equal(sink.unwritten(1), 2);
    inner.failingKey = undefined;
    // Offsets 0 and 1 are durable since the failed call: dropping them would hold the commit.
    assert.deepEqual(await sink.flushSealed(1), ["0", "1", "2", "3"]);
    assert.deepEqual(await sink.flushSealed(1), []);
  } finally {
    await sink.close();
  }
});

Deno.test("BatchedSink.flushSealed() of a discarded epoch neither returns nor drops the next epoch's segments", async () => {
  const inner = new HeldSink(new MemorySink());
  const sink = new BatchedSink({ inner, records: 2, maxAgeMs: 60_000 });
  try {
    sink.append(3, { offset: "0", dt: "2026-11-01", body: line("0") });
    sink.append(3, { offset: "1", dt: "2026-11-01", body: line("1") });
    inner.holdNextWrite();
    const old = sink.flushSealed(3); // its write is held
    await new Promise((resolve) => setTimeout(resolve, 10));
    sink.discard(3); // revoked and assigned again: re-read from the commit
    sink.append(3, { offset: "0", dt: "2026-11-01", body: line("0") });
    sink.append(3, { offset: "1", dt: "2026-11-01", body: line("1") });
    inner.release();
    assert.deepEqual(await old, []);
    assert.equal(sink.unwritten(3), 2, "the new epoch's sealed segment is still to be written");
    assert.deepEqual(await sink.flushSealed(3), ["0", "1"]);
  } finally {
    await sink.close();
  }
});

Deno.test("BatchedSink.discard() drops a partition's segments; queued writes are skipped", async () => {
  const inner = new MemorySink();
  const sink = new BatchedSink({ inner, records: 2, maxAgeMs: 60_000 });
  sink.append(0, { offset: "0", dt: "2026-11-01", body: line("0") });
  sink.append(0, { offset: "1", dt: "2026-11-01", body: line("1") });
  sink.discard(0);
  assert.deepEqual(await sink.flushSealed(0), []);
  await sink.close();
  assert.equal(inner.writes.length, 0);
});

Deno.test("BatchedSink over LocalSink writes NDJSON files under the segment keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new BatchedSink({ inner: new LocalSink({ dir }), records: 3 });
    for (const o of ["3", "4", "5"]) {
      sink.append(4, { offset: o, dt: "2026-11-03", body: line(`{"o":${o}}`) });
    }
    assert.deepEqual(await sink.flushSealed(4), ["3", "4", "5"]);
    await sink.close();
    const text = await Deno.readTextFile(`${dir}/${segmentKey("2026-11-03", 4, 3n, 5n)}`);
    assert.deepEqual(text.trim().split("\n").map((l) => JSON.parse(l).o), [3, 4, 5]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Makes one `write()` of the inner sink wait until released (a request delivered late). */
class HeldSink implements Sink {
  readonly name: string;
  readonly #inner: Sink;
  #hold: Promise<void> | undefined;
  #release = () => {};
  constructor(inner: Sink) {
    this.#inner = inner;
    this.name = inner.name;
  }
  holdNextWrite(): void {
    this.#hold = new Promise((resolve) => this.#release = resolve);
  }
  release(): void {
    this.#release();
  }
  async write(key: string, body: Uint8Array, p: RecordPosition): Promise<void> {
    const hold = this.#hold;
    this.#hold = undefined;
    await hold;
    return this.#inner.write(key, body, p);
  }
  remove(key: string): Promise<void> {
    return this.#inner.remove!(key);
  }
  probe(): Promise<void> {
    return this.#inner.probe();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

async function readableLines(dir: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of Deno.readDir(`${dir}/orders/dt=2026-11-01/part=0`)) {
    keys.push(`orders/dt=2026-11-01/part=0/${e.name}`);
  }
  const lines: string[] = [];
  for (const s of readableSegments(keys)) {
    lines.push(...(await Deno.readTextFile(`${dir}/${s.key}`)).split("\n").filter(Boolean));
  }
  return lines;
}

Deno.test("BatchedSink on local disk: a stale member's late tail write cannot shrink the segment the new owner committed", async () => {
  const dir = await Deno.makeTempDir();
  const stale = new HeldSink(new LocalSink({ dir }));
  const a = new BatchedSink({ inner: stale, records: 10, maxAgeMs: 20 });
  const b = new BatchedSink({ inner: new LocalSink({ dir }), records: 10, maxAgeMs: 60_000 });
  const add = (sink: BatchedSink, from: number, to: number) => {
    for (let o = from; o < to; o++) {
      sink.append(0, { offset: String(o), dt: "2026-11-01", body: line(`r${o}`) });
    }
  };
  try {
    add(a, 0, 3);
    await new Promise((r) => setTimeout(r, 150)); // A's first tail write (0-2) lands
    stale.holdNextWrite();
    add(a, 3, 5);
    await new Promise((r) => setTimeout(r, 150)); // A's second tail write (0-4) is held
    add(b, 0, 10); // B re-reads the partition and seals the segment
    assert.equal((await b.flushSealed(0)).length, 10, "B commits offsets 0-9");
    const committed = await readableLines(dir);
    assert.equal(committed.length, 10);
    stale.release();
    await new Promise((r) => setTimeout(r, 150)); // A's late write lands, A removes 0-2
    assert.deepEqual(await readableLines(dir), committed);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
