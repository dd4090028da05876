import assert from "node:assert/strict";
import { Batcher } from "./batcher.ts";
import { FakeClock, flushMicrotasks } from "./_fake_clock.ts";

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void, reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

Deno.test("Batcher.add() sends a full batch at once", async () => {
  const clock = new FakeClock();
  const sent: number[][] = [];
  const b = new Batcher<number>({
    lingerMs: 20,
    batchSize: 3,
    maxInFlight: 2,
    clock,
    send: (xs) => {
      sent.push(xs);
      return Promise.resolve();
    },
  });
  for (const x of [1, 2, 3]) await b.add(x);
  assert.deepEqual(sent, [[1, 2, 3]]);
  assert.equal(clock.pending, 0, "no linger timer left behind");
  await b.flush();
});

Deno.test("Batcher.add() sends a partial batch after lingerMs, not before", async () => {
  const clock = new FakeClock();
  const sent: number[][] = [];
  const b = new Batcher<number>({
    lingerMs: 20,
    batchSize: 100,
    maxInFlight: 2,
    clock,
    send: (xs) => {
      sent.push(xs);
      return Promise.resolve();
    },
  });
  await b.add(1);
  await clock.advance(5);
  await b.add(2);
  await clock.advance(14);
  assert.deepEqual(sent, [], "19 ms after the first item: still lingering");
  await clock.advance(1);
  assert.deepEqual(sent, [[1, 2]], "20 ms after the first item: sent");
  await b.add(3);
  await clock.advance(19);
  assert.equal(sent.length, 1);
  await clock.advance(1);
  assert.deepEqual(sent, [[1, 2], [3]]);
  await b.flush();
});

Deno.test("Batcher.add() waits while maxInFlight sends are busy (backpressure)", async () => {
  const clock = new FakeClock();
  const gates: ReturnType<typeof deferred>[] = [];
  const sent: number[][] = [];
  const b = new Batcher<number>({
    lingerMs: 20,
    batchSize: 2,
    maxInFlight: 1,
    clock,
    send: (xs) => {
      sent.push(xs);
      const d = deferred();
      gates.push(d);
      return d.promise;
    },
  });
  await b.add(1);
  await b.add(2); // batch 1 in flight
  await b.add(3);
  let added = false;
  const pending = b.add(4).then(() => (added = true)); // batch 2 is full, no slot
  await flushMicrotasks();
  assert.equal(added, false, "add() must block while the only slot is busy");
  assert.equal(b.inFlight, 1);
  gates[0]?.resolve();
  await pending;
  assert.equal(added, true);
  assert.deepEqual(sent, [[1, 2], [3, 4]]);
  gates[1]?.resolve();
  await b.flush();
  assert.equal(b.inFlight, 0);
});

Deno.test("Batcher linger timer defers to a free slot when all sends are busy", async () => {
  const clock = new FakeClock();
  const gates: ReturnType<typeof deferred>[] = [];
  const sent: number[][] = [];
  const b = new Batcher<number>({
    lingerMs: 10,
    batchSize: 2,
    maxInFlight: 1,
    clock,
    send: (xs) => {
      sent.push(xs);
      const d = deferred();
      gates.push(d);
      return d.promise;
    },
  });
  await b.add(1);
  await b.add(2);
  await b.add(3);
  await clock.advance(50);
  assert.deepEqual(sent, [[1, 2]], "no slot yet");
  gates[0]?.resolve();
  await flushMicrotasks();
  assert.deepEqual(sent, [[1, 2], [3]], "due batch goes out when the slot frees");
  gates[1]?.resolve();
  await b.flush();
});

Deno.test("Batcher with lingerMs 0 sends at once and accumulates while busy", async () => {
  const clock = new FakeClock();
  const gates: ReturnType<typeof deferred>[] = [];
  const sent: number[][] = [];
  const b = new Batcher<number>({
    lingerMs: 0,
    batchSize: 10,
    maxInFlight: 1,
    clock,
    send: (xs) => {
      sent.push(xs);
      const d = deferred();
      gates.push(d);
      return d.promise;
    },
  });
  await b.add(1);
  await b.add(2);
  await b.add(3);
  assert.deepEqual(sent, [[1]]);
  gates[0]?.resolve();
  await flushMicrotasks();
  assert.deepEqual(sent, [[1], [2, 3]]);
  gates[1]?.resolve();
  await b.flush();
  assert.equal(clock.pending, 0);
});

Deno.test("Batcher.flush() sends the remainder and waits for every send", async () => {
  const clock = new FakeClock();
  const gate = deferred();
  let settled = 0;
  const b = new Batcher<number>({
    lingerMs: 1000,
    batchSize: 100,
    maxInFlight: 4,
    clock,
    send: async () => {
      await gate.promise;
      settled++;
    },
  });
  await b.add(1);
  let flushed = false;
  const f = b.flush().then(() => (flushed = true));
  await flushMicrotasks();
  assert.equal(flushed, false);
  assert.equal(clock.pending, 0, "flush cancels the linger timer");
  gate.resolve();
  await f;
  assert.equal(settled, 1);
});

Deno.test("Batcher.flush() rethrows a failed send and add() refuses afterwards", async () => {
  const b = new Batcher<number>({
    lingerMs: 0,
    batchSize: 1,
    maxInFlight: 1,
    clock: new FakeClock(),
    send: () => Promise.reject(new TypeError("boom")),
  });
  await b.add(1);
  await assert.rejects(
    b.flush(),
    (e: Error) => e.name === "BatchSendError" && e.cause instanceof TypeError,
  );
  await assert.rejects(b.add(2), { name: "BatchSendError" });
});

Deno.test("Batcher rejects invalid options", () => {
  const send = () => Promise.resolve();
  assert.throws(
    () => new Batcher({ lingerMs: -1, batchSize: 1, maxInFlight: 1, send }),
    RangeError,
  );
  assert.throws(() => new Batcher({ lingerMs: 0, batchSize: 0, maxInFlight: 1, send }), RangeError);
  assert.throws(
    () => new Batcher({ lingerMs: 0, batchSize: 1, maxInFlight: 1.5, send }),
    RangeError,
  );
});
