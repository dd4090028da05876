import assert from "node:assert/strict";
import {
  type ConsumedRecord,
  handleBatch,
  type HandlerEnv,
  parseRecord,
  prepareBatch,
  type ScoreFn,
} from "./handler.ts";
import { LocalSink } from "./sinks/local.ts";
import { type RecordPosition, type Sink, SinkWriteError } from "./sinks/types.ts";

const enc = new TextEncoder();

function order(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    orderId: id,
    customerId: "cust-1",
    channel: "web",
    items: [{ sku: "SKU-1", quantity: 2, unit_price: 10.5 }],
    total: 21,
    currency: "USD",
    created_at: "2026-11-26T20:00:00.000Z",
    ...extra,
  };
}

function rec(offset: number, value: Uint8Array | string | null, headers = {}): ConsumedRecord {
  return {
    partition: 0,
    offset: String(offset),
    key: null,
    value: typeof value === "string" ? enc.encode(value) : value,
    headers,
    timestamp: "0",
  };
}

const score: ScoreFn = (orders) =>
  Promise.resolve(orders.map((o) => ({ score: o.total / 1000, scorer: "test", fallback: false })));

function env(sink: Sink, extra: Partial<HandlerEnv> = {}): HandlerEnv {
  return { score, sink, now: () => 1_800_000_000_000, maxBytes: 4096, ...extra };
}

Deno.test("handleBatch() stores valid orders enriched under their order key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir, sync: false });
    const out = await handleBatch(
      [rec(0, JSON.stringify(order("ord-1")), { produced_at: "1799999999990" })],
      env(sink),
    );
    assert.equal(out.length, 1);
    const o = out[0]!;
    assert.equal(o.kind, "stored");
    if (o.kind !== "stored") return;
    assert.equal(o.key, "orders/dt=2026-11-26/orderId=ord-1.json");
    assert.equal(o.latencyMs, 10);
    const stored = JSON.parse(await Deno.readTextFile(`${dir}/${o.key}`));
    assert.equal(stored.orderId, "ord-1");
    assert.equal(stored.risk_score, 0.021);
    assert.equal(stored.scorer, "test");
    assert.equal(stored.latency_ms, 10);
    assert.equal(stored.consumed_at, new Date(1_800_000_000_000).toISOString());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("handleBatch() dead-letters bad records with reasons and stores the neighbours", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir, sync: false });
    const records = [
      rec(0, JSON.stringify(order("ord-a"))),
      rec(1, "{not json"),
      rec(2, JSON.stringify(order("ord-b", { total: -5, currency: "usd" }))),
      rec(3, JSON.stringify(order("../../etc/passwd"))),
      rec(4, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])),
      rec(5, null),
      rec(6, "x".repeat(5000)),
      rec(7, JSON.stringify(order("ord-c"))),
    ];
    const out = await handleBatch(records, env(sink));
    assert.deepEqual(
      out.map((o) => o.kind === "dead-letter" ? o.reason : o.kind),
      [
        "stored",
        "invalid_json",
        "invalid_order",
        "unsafe_order_id",
        "undecodable",
        "empty",
        "oversized",
        "stored",
      ],
    );
    const invalid = out[2]!;
    assert.ok(invalid.kind === "dead-letter" && invalid.issues !== undefined);
    assert.ok(invalid.issues.length >= 2, JSON.stringify(invalid.issues));
    assert.deepEqual(out.map((o) => o.record.offset), records.map((r) => r.offset));
    // Nothing escaped the root.
    const files = [...Deno.readDirSync(`${dir}/orders/dt=2026-11-26`)].map((e) => e.name).sort();
    assert.deepEqual(files, ["orderId=ord-a.json", "orderId=ord-c.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

class FlakySink implements Sink {
  readonly name = "flaky";
  readonly writes: string[] = [];
  failKeys = new Set<string>();
  write(key: string, body: Uint8Array, _position: RecordPosition): Promise<void> {
    if (this.failKeys.has(key)) {
      return Promise.reject(new SinkWriteError(`down ${key}`, { key, retryable: true }));
    }
    this.writes.push(`${key}:${new TextDecoder().decode(body).length}`);
    return Promise.resolve();
  }
  probe(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("handleBatch() reports sink failures as retryable, same-key successors fail too", async () => {
  const sink = new FlakySink();
  sink.failKeys.add("orders/dt=2026-11-26/orderId=ord-x.json");
  const out = await handleBatch(
    [
      rec(0, JSON.stringify(order("ord-x"))),
      rec(1, JSON.stringify(order("ord-y"))),
      rec(
        2,
        JSON.stringify(
          order("ord-x", { total: 22, items: [{ sku: "S", quantity: 1, unit_price: 22 }] }),
        ),
      ),
    ],
    env(sink),
  );
  assert.deepEqual(out.map((o) => o.kind), ["retryable-failure", "stored", "retryable-failure"]);
  const first = out[0]!;
  assert.ok(first.kind === "retryable-failure" && first.stage === "sink");
  assert.deepEqual(sink.writes, [
    "orders/dt=2026-11-26/orderId=ord-y.json:" + sink.writes[0]!.split(":")[1],
  ]);
});

Deno.test("handleBatch() marks every valid order retryable when scoring rejects", async () => {
  const sink = new FlakySink();
  const out = await handleBatch(
    [rec(0, JSON.stringify(order("ord-1"))), rec(1, "[]")],
    env(sink, { score: () => Promise.reject(new Error("host down")) }),
  );
  assert.deepEqual(out.map((o) => o.kind), ["retryable-failure", "dead-letter"]);
  assert.deepEqual(sink.writes, []);
});

Deno.test("handleBatch() keeps at most `concurrency` writes in flight", async () => {
  let inFlight = 0;
  let peak = 0;
  const sink: Sink = {
    name: "slow",
    async write() {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
    },
    probe: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const records = Array.from({ length: 40 }, (_, i) => rec(i, JSON.stringify(order(`o${i}`))));
  const out = await handleBatch(records, env(sink, { concurrency: 4 }));
  assert.ok(out.every((o) => o.kind === "stored"));
  assert.equal(peak, 4);
});

Deno.test("handleBatch() measures latency from the Kafka record timestamp when no produced_at is given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir, sync: false });
    const record = { ...rec(0, JSON.stringify(order("ord-ts"))), timestamp: "1799999999750" };
    const out = await handleBatch([record], env(sink));
    const o = out[0]!;
    assert.equal(o.kind, "stored");
    if (o.kind !== "stored") return;
    assert.equal(o.latencyMs, 250);
    const stored = JSON.parse(await Deno.readTextFile(`${dir}/${o.key}`));
    assert.equal(stored.latency_ms, 250); // not the months since created_at
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseRecord() rejects as undecodable exactly what a fatal TextDecoder rejects", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const tricky = [
    [0xc0, 0x80], // overlong NUL
    [0xe0, 0x80, 0xaf], // overlong
    [0xed, 0xa0, 0x80], // UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
    [0xe2, 0x82], // truncated
    [0x80], // lone continuation
    [0xff],
    [0xef, 0xbb, 0xbf, 0x7b, 0x7d], // BOM + {} (valid; the BOM is dropped)
    [0xf0, 0x9f, 0x98, 0x80], // valid 4-byte
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pool = [0x22, 0x7b, 0x7d, 0x61, 0x80, 0xbf, 0xc2, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xff];
  const samples = tricky.map((b) => new Uint8Array([0x22, ...b, 0x22]));
  for (let i = 0; i < 5000; i++) {
    samples.push(Uint8Array.from({ length: 1 + Math.floor(random() * 8) }, () => {
      return pool[Math.floor(random() * pool.length)]!;
    }));
  }
  for (const value of samples) {
    let text: string | undefined;
    try {
      text = fatal.decode(value);
    } catch {
      text = undefined;
    }
    const parsed = parseRecord(rec(0, value), 4096);
    const undecodable = !parsed.ok && parsed.outcome.reason === "undecodable";
    assert.equal(undecodable, text === undefined, `bytes ${[...value]}`);
    if (text !== undefined && !parsed.ok && parsed.outcome.reason === "invalid_json") {
      let message = "";
      try {
        JSON.parse(text);
      } catch (error) {
        message = `${(error as Error).name}: ${(error as Error).message}`;
      }
      assert.equal(parsed.outcome.detail, message, "decoded to the same text");
    }
  }
});

Deno.test("prepareBatch() bodies are the enriched JSON lines, one view per record", async () => {
  const records = [
    rec(0, JSON.stringify(order("ord-a")), { produced_at: enc.encode("1799999999000") }),
    rec(1, "not json"),
    rec(2, JSON.stringify(order("ord-b", { channel: "mobile" })), {
      produced_at: [enc.encode("\ufeff1799999999500"), enc.encode("1")],
    }),
    rec(3, JSON.stringify(order("ord-c")), { produced_at: "1799999999900" }),
  ];
  const out = await prepareBatch(records, {
    score,
    now: () => 1_800_000_000_000,
    maxBytes: 4096,
  });
  assert.deepEqual(out.map((o) => o.kind), ["prepared", "dead-letter", "prepared", "prepared"]);
  const dec = new TextDecoder();
  const latencies = [1000, 500, 100];
  for (const [i, o] of [out[0]!, out[2]!, out[3]!].entries()) {
    assert.equal(o.kind, "prepared");
    if (o.kind !== "prepared") continue;
    const line = dec.decode(o.body);
    assert.ok(line.endsWith("}\n") && line.indexOf("\n") === line.length - 1, line);
    const body = JSON.parse(line);
    assert.equal(body.orderId, o.stored.orderId);
    assert.equal(body.latency_ms, latencies[i]);
    assert.equal(o.producedAt, 1_800_000_000_000 - latencies[i]!);
  }
});

Deno.test("prepareBatch() judges future timestamps against the record's own timestamp, not the clock", async () => {
  const clock = Date.now();
  const at = (ms: number) => new Date(ms).toISOString();
  const stamped = (offset: number, createdAt: number, timestamp: number): ConsumedRecord => ({
    ...rec(offset, JSON.stringify(order(`t-${offset}`, { created_at: at(createdAt) }))),
    timestamp: String(timestamp),
  });
  const out = await prepareBatch([
    // Produced in an hour and created a minute after that: fine for the record, whatever the clock.
    stamped(0, clock + 61 * 60_000, clock + 60 * 60_000),
    // Created ten minutes after it was produced: too far in the future, today and in an hour.
    stamped(1, clock - 50 * 60_000, clock - 60 * 60_000),
  ], env(new LocalSink({ dir: "unused", sync: false })));
  assert.deepEqual(out.map((o) => o.kind), ["prepared", "dead-letter"]);
});

Deno.test("prepareBatch() dead-letters as invalid_order a created_at in UTC year 10000, even when the record timestamp is later", async () => {
  // The batched layout takes the dt= partition from createdAt; "+010000-01" is no date, and the
  // segment's key was refused for good, stalling the partition. It must never get that far.
  const poison = {
    ...rec(0, JSON.stringify(order("ord-y10k", { created_at: "9999-12-31T23:59:59.999-23:59" }))),
    timestamp: "253402387200000",
  };
  const out = await prepareBatch([poison], env(new LocalSink({ dir: "unused", sync: false })));
  const o = out[0]!;
  assert.equal(o.kind, "dead-letter");
  assert.equal(o.kind === "dead-letter" && o.reason, "invalid_order");
  assert.match(o.kind === "dead-letter" ? o.detail : "", /^created_at: must not be after 9999/);
});

Deno.test("handleBatch() dead-letters a record the sink refuses for good as sink_rejected", async () => {
  const sink: Sink = {
    name: "refusing",
    write: (key) => Promise.reject(new SinkWriteError(`no ${key}`, { key, retryable: false })),
    probe: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const out = await handleBatch([rec(0, JSON.stringify(order("ord-r")))], env(sink));
  assert.deepEqual(out.map((o) => o.kind === "dead-letter" ? o.reason : o.kind), ["sink_rejected"]);
});

Deno.test("prepareBatch() keeps a valid risk.score header as edge_risk_score and ignores invalid ones", async () => {
  const records = [
    rec(0, JSON.stringify(order("e-ok")), { "risk.score": enc.encode("0.42") }),
    rec(1, JSON.stringify(order("e-tiny")), { "risk.score": "1e-7" }),
    rec(2, JSON.stringify(order("e-none"))),
    ...["1.5", "-0.1", "abc", "", "NaN", "0x1", " 0.3", "Infinity"].map((bad, i) =>
      rec(3 + i, JSON.stringify(order(`e-bad-${i}`)), { "risk.score": bad })
    ),
  ];
  const out = await prepareBatch(records, env(new LocalSink({ dir: "/nonexistent" })));
  const body = (i: number) => {
    const o = out[i]!;
    assert.equal(o.kind, "prepared", `record ${i} is stored, never dead-lettered`);
    return o.kind === "prepared" ? JSON.parse(new TextDecoder().decode(o.body)) : {};
  };
  assert.equal(body(0).edge_risk_score, 0.42);
  assert.equal(body(0).risk_score, 0.021, "the consumer's own score stays next to it");
  assert.equal(body(1).edge_risk_score, 1e-7);
  assert.equal("edge_risk_score" in body(2), false);
  for (let i = 3; i < records.length; i++) {
    assert.equal("edge_risk_score" in body(i), false, `record ${i}`);
    const o = out[i]!;
    assert.equal(o.kind === "prepared" && o.stored.edgeScoreInvalid, true, `record ${i} counted`);
  }
  const first = out[0]!;
  assert.equal(first.kind === "prepared" && first.stored.edgeRiskScore, 0.42);
});
