import assert from "node:assert/strict";
import { OffsetTracker } from "./offsets.ts";

Deno.test("OffsetTracker.commitable() is undefined before anything is done", () => {
  const t = new OffsetTracker();
  assert.equal(t.commitable(0), undefined);
  t.track(0, "5");
  assert.equal(t.commitable(0), undefined);
});

Deno.test("OffsetTracker.commitable() waits for out-of-order completion", () => {
  const t = new OffsetTracker();
  for (let o = 0; o < 5; o++) t.track(3, String(o));
  t.markDone(3, "4");
  t.markDone(3, "2");
  assert.equal(t.commitable(3), undefined);
  t.markDone(3, "0");
  assert.equal(t.commitable(3), "1");
  t.markDone(3, "1");
  assert.equal(t.commitable(3), "3");
  t.markDone(3, "3");
  assert.equal(t.commitable(3), "5");
  assert.equal(t.inFlight(3), 0);
});

Deno.test("OffsetTracker.commitable() never passes a failed record (Vector #24215)", () => {
  // #24215: a batch failed in the sink, later batches succeeded and their acks committed the
  // offsets past the failed batch — the failed records were lost on restart.
  const t = new OffsetTracker();
  for (let o = 100; o < 200; o++) t.track(1, o);
  for (let o = 100; o < 120; o++) t.markDone(1, o);
  for (let o = 120; o < 140; o++) t.markFailed(1, o);
  for (let o = 140; o < 200; o++) t.markDone(1, o);
  assert.equal(t.commitable(1), "120");
  assert.equal(t.inFlight(1), 80);
  // More later batches keep succeeding: still blocked.
  for (let o = 200; o < 300; o++) {
    t.track(1, o);
    t.markDone(1, o);
  }
  assert.equal(t.commitable(1), "120");
  for (let o = 120; o < 139; o++) t.markDone(1, o);
  assert.equal(t.commitable(1), "139");
  t.markDone(1, 139);
  assert.equal(t.commitable(1), "300");
});

Deno.test("OffsetTracker partitions are independent", () => {
  const t = new OffsetTracker();
  t.track(0, 0);
  t.track(1, 0);
  t.markFailed(0, 0);
  t.markDone(1, 0);
  assert.equal(t.commitable(0), undefined);
  assert.equal(t.commitable(1), "1");
  assert.deepEqual(t.partitions(), [0, 1]);
});

Deno.test("OffsetTracker handles offset gaps (compaction, transaction markers)", () => {
  const t = new OffsetTracker();
  t.track(0, 10);
  t.track(0, 13);
  t.track(0, 20);
  t.markDone(0, 13);
  t.markDone(0, 10);
  assert.equal(t.commitable(0), "14");
  t.markDone(0, 20);
  assert.equal(t.commitable(0), "21");
});

Deno.test("OffsetTracker.uncommitted() reports only progress past markCommitted()", () => {
  const t = new OffsetTracker();
  t.track(0, 0);
  t.track(0, 1);
  t.markDone(0, 0);
  assert.equal(t.uncommitted(0), "1");
  t.markCommitted(0, "1");
  assert.equal(t.uncommitted(0), undefined);
  t.markDone(0, 1);
  assert.equal(t.uncommitted(0), "2");
});

Deno.test("OffsetTracker.track() rejects offsets going backwards until reset()", () => {
  const t = new OffsetTracker();
  t.track(0, 5);
  t.markDone(0, 5);
  assert.equal(t.commitable(0), "6");
  assert.throws(() => t.track(0, 5), RangeError);
  assert.throws(() => t.track(0, 4), RangeError);
  t.reset(0);
  t.track(0, 4);
  assert.equal(t.commitable(0), undefined);
});

Deno.test("OffsetTracker.markDone() rejects untracked offsets; markFailed() rejects done ones", () => {
  const t = new OffsetTracker();
  t.track(0, 1);
  assert.throws(() => t.markDone(0, 2), RangeError);
  assert.throws(() => t.markDone(9, 1), RangeError);
  t.markDone(0, 1);
  assert.throws(() => t.markFailed(0, 1), RangeError);
});

Deno.test("OffsetTracker compacts released entries and keeps answering", () => {
  const t = new OffsetTracker();
  for (let o = 0; o < 5000; o++) {
    t.track(2, o);
    t.markDone(2, o);
    if (o % 100 === 0) t.commitable(2);
  }
  assert.equal(t.commitable(2), "5000");
  assert.equal(t.inFlight(2), 0);
  t.track(2, 5000);
  t.markDone(2, 5000);
  assert.equal(t.commitable(2), "5001");
});

Deno.test("OffsetTracker.resumeOffset() is the first record not done, else last done + 1", () => {
  const t = new OffsetTracker();
  assert.equal(t.resumeOffset(0), undefined);
  for (let o = 10; o < 15; o++) t.track(0, o);
  assert.equal(t.resumeOffset(0), "10");
  t.markDone(0, "10");
  t.markDone(0, "12");
  assert.equal(t.resumeOffset(0), "11"); // 11 is pending: a re-read must start there, not at 13
  for (const o of ["11", "13", "14"]) t.markDone(0, o);
  assert.equal(t.resumeOffset(0), "15");
});
