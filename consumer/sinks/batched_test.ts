import assert from "node:assert/strict";
import { BatchedSink, segmentKey } from "./batched.ts";
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
  write(key: string, body: Uint8Array, _p: RecordPosition): Promise<void> {
    if (this.failing) return Promise.reject(new RangeError(`Cannot write ${key}: outage`));
    this.writes.push(key);
    this.objects.set(key, new TextDecoder().decode(body));
    return Promise.resolve();
  }
  probe(): Promise<void> {
    return this.failing ? Promise.reject(new RangeError("down")) : Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("BatchedSink.flushSealed() writes aligned segments per dt, named after their first offset", async () => {
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
    [segmentKey("2026-11-02", 2, 7)]: "r7\nr9\n",
    [segmentKey("2026-11-01", 2, 8)]: "r8\n",
    [segmentKey("2026-11-01", 2, 10)]: "r10\nr12\n",
    [segmentKey("2026-11-02", 2, 13)]: "r13\n",
  });
  assert.deepEqual(written, ["7", "8", "9", "10", "12", "13"]);
  assert.equal(sink.unwritten(2), 1);
  assert.deepEqual(await sink.flushSealed(2), []);
  await sink.close();
  assert.equal(inner.objects.get(segmentKey("2026-11-02", 2, 21)), "r21\n");
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

Deno.test("BatchedSink writes a segment still filling after maxAgeMs, rewriting the same object", async () => {
  const inner = new MemorySink();
  const sink = new BatchedSink({ inner, records: 100, maxAgeMs: 50 });
  try {
    sink.append(0, { offset: "0", dt: "2026-11-01", body: line("a") });
    assert.equal(inner.writes.length, 0);
    await new Promise((r) => setTimeout(r, 200));
    const key = segmentKey("2026-11-01", 0, 0);
    assert.equal(inner.objects.get(key), "a\n");
    assert.equal(sink.unwritten(0), 0);
    sink.append(0, { offset: "1", dt: "2026-11-01", body: line("b") });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(inner.objects.get(key), "a\nb\n");
    assert.deepEqual(inner.writes, [key, key]);
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
      segmentKey("2026-11-01", 1, 0),
      segmentKey("2026-11-01", 1, 2),
    ]);
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
    const text = await Deno.readTextFile(`${dir}/${segmentKey("2026-11-03", 4, 3)}`);
    assert.deepEqual(text.trim().split("\n").map((l) => JSON.parse(l).o), [3, 4, 5]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
