import assert from "node:assert/strict";
import { newAckLatency, ProduceRun } from "./produce.ts";
import type { DeliveryReport, Publisher } from "./publisher.ts";
import type { OutgoingRecord, SourceItem } from "./sources.ts";

/** A stand-in publisher for loop tests (delivery itself is tested against the real broker). */
class ScriptedPublisher implements Publisher {
  readonly batches: OutgoingRecord[][] = [];
  readonly #failBatch: number | undefined;
  constructor(failBatch?: number) {
    this.#failBatch = failBatch;
  }
  publish(records: readonly OutgoingRecord[]): Promise<readonly DeliveryReport[]> {
    this.batches.push([...records]);
    const n = this.batches.length;
    return new Promise((resolve) =>
      setTimeout(
        () =>
          resolve(records.map((record, i): DeliveryReport =>
            n === this.#failBatch
              ? { status: "failed", record, error: new RangeError("broker said no"), latencyMs: 1 }
              : {
                status: "acked",
                record,
                partition: 0,
                offset: String(n * 1000 + i),
                latencyMs: n,
              }
          )),
        1,
      )
    );
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function* records(n: number): Generator<SourceItem> {
  for (let i = 1; i <= n; i++) {
    yield { kind: "record", record: { key: `k${i}`, value: `{"i":${i}}` } };
  }
}

const loop = { lingerMs: 5, batchSize: 10, maxInFlight: 2 } as const;

Deno.test("ProduceRun.run() settles every record and counts them", async () => {
  const publisher = new ScriptedPublisher();
  const reports: DeliveryReport[] = [];
  const run = new ProduceRun();
  const s = await run.run({
    ...loop,
    source: records(95),
    publisher,
    latency: newAckLatency(),
    onDelivery: (r) => reports.push(r),
  });
  assert.deepEqual([s.read, s.sent, s.acked, s.failed, s.invalid], [95, 95, 95, 0, 0]);
  assert.equal(s.stoppedBy, "end");
  assert.equal(s.batches, 10);
  assert.deepEqual(
    reports.map((r) => r.record.key),
    [...records(95)].map((x) => x.kind === "record" ? x.record.key : ""),
  );
  assert.ok(
    s.latencyMs.p50 !== null && s.latencyMs.p99 !== null && s.latencyMs.p99 >= s.latencyMs.p50,
  );
});

Deno.test("ProduceRun.run() stops reading at the first failed batch and still settles what was sent", async () => {
  const publisher = new ScriptedPublisher(2);
  let stopped: string | undefined;
  const s = await new ProduceRun().run({
    ...loop,
    source: records(10_000),
    publisher,
    latency: newAckLatency(),
    onStop: (reason) => (stopped = reason),
  });
  assert.equal(stopped, "failure");
  assert.equal(s.stoppedBy, "failure");
  assert.equal(s.failed, 10);
  assert.equal(s.acked + s.failed, s.sent, "every sent record is acked or failed");
  assert.ok(s.read < 1000, `read ${s.read}: input stops soon after the failure`);
  assert.equal(s.read, s.sent);
  assert.equal(s.firstError?.message, "broker said no");
});

Deno.test("ProduceRun.run() on abort stops reading and flushes what was read", async () => {
  const ac = new AbortController();
  async function* slow(): AsyncGenerator<SourceItem> {
    for (let i = 1;; i++) {
      if (i === 25) ac.abort();
      yield { kind: "record", record: { key: `k${i}`, value: "{}" } };
    }
  }
  const s = await new ProduceRun().run({
    ...loop,
    source: slow(),
    publisher: new ScriptedPublisher(),
    latency: newAckLatency(),
    signal: ac.signal,
  });
  assert.equal(s.stoppedBy, "signal");
  assert.equal(s.read, 25);
  assert.equal(s.acked, 25);
});

Deno.test("ProduceRun.run() counts invalid lines without sending them", async () => {
  const invalid: number[] = [];
  const source: SourceItem[] = [
    { kind: "record", record: { key: "a", value: "{}" } },
    { kind: "invalid", line: 2, reason: "bad" },
    { kind: "record", record: { key: "b", value: "{}" } },
    { kind: "invalid", line: 4, reason: "worse" },
  ];
  const publisher = new ScriptedPublisher();
  const s = await new ProduceRun().run({
    ...loop,
    source,
    publisher,
    latency: newAckLatency(),
    onInvalid: (line) => invalid.push(line),
  });
  assert.deepEqual([s.read, s.sent, s.acked, s.invalid], [4, 2, 2, 2]);
  assert.deepEqual(invalid, [2, 4]);
  assert.deepEqual(publisher.batches.flat().map((r) => r.key), ["a", "b"]);
});

Deno.test("ProduceRun.run() stops after durationMs", async () => {
  async function* endless(): AsyncGenerator<SourceItem> {
    for (let i = 1;; i++) {
      await new Promise((r) => setTimeout(r, 2));
      yield { kind: "record", record: { key: `k${i}`, value: "{}" } };
    }
  }
  const t0 = performance.now();
  const s = await new ProduceRun().run({
    ...loop,
    source: endless(),
    publisher: new ScriptedPublisher(),
    latency: newAckLatency(),
    durationMs: 150,
  });
  const ms = performance.now() - t0;
  assert.equal(s.stoppedBy, "duration");
  assert.ok(ms >= 150 && ms < 1000, `took ${ms} ms`);
  assert.equal(s.acked, s.read);
});

Deno.test({
  name: "ProduceRun.run() stops on abort even while the source is stuck in a read",
  sanitizeOps: false, // the stuck read's timer is left behind on purpose
  fn: async () => {
    const ac = new AbortController();
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    async function* quiet(): AsyncGenerator<SourceItem> {
      yield { kind: "record", record: { key: "first", value: "{}" } };
      await stuck; // like a terminal stdin nobody types into
      yield { kind: "record", record: { key: "late", value: "{}" } };
    }
    setTimeout(() => ac.abort(), 50);
    const s = await new ProduceRun().run({
      ...loop,
      source: quiet(),
      publisher: new ScriptedPublisher(),
      latency: newAckLatency(),
      signal: ac.signal,
    });
    assert.equal(s.stoppedBy, "signal");
    assert.deepEqual([s.read, s.acked], [1, 1]);
    release();
  },
});
