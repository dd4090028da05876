import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Message, Producer, ProducerRecord, RecordMetadata } from "kafkajs";
import { DeadLetterPublisher, DLQ_REDRIVEN_FROM, dlqHeaders } from "./dlq.ts";
import type { DeadLetterOutcome, HeaderValue } from "./outcomes.ts";

function headersOf(incoming: Record<string, HeaderValue>) {
  const record = {
    partition: 1,
    offset: "42",
    key: null,
    value: null,
    headers: incoming,
    timestamp: "0",
  };
  return dlqHeaders(
    { kind: "dead-letter", record, reason: "invalid_json", detail: "still bad" },
    "orders",
    Date.parse("2026-12-01T00:00:00Z"),
  );
}

Deno.test("dlqHeaders keeps dlq.redriven_from of a redriven record, drops its other dlq.* headers", () => {
  const h = headersOf({
    schema: "orderflow.order.v1",
    [DLQ_REDRIVEN_FROM]: Buffer.from("0@7"), // as kafkajs delivers it
    "dlq.reason": "forged",
    "dlq.source.offset": "999",
    "dlq.truncated": "true",
  });
  assert.deepEqual(h, {
    schema: "orderflow.order.v1",
    "dlq.redriven_from": "0@7",
    "dlq.reason": "invalid_json",
    "dlq.detail": "still bad",
    "dlq.source.topic": "orders",
    "dlq.source.partition": "1",
    "dlq.source.offset": "42",
    "dlq.failed_at": "2026-12-01T00:00:00.000Z",
  });
});

Deno.test("dlqHeaders drops a dlq.redriven_from that redrive could not have written", () => {
  for (
    const value of [
      "x@1",
      "0@7\u001b[2J",
      "0@",
      "",
      ["0@7", "0@8"],
      Buffer.from([0xff]),
    ] satisfies HeaderValue[]
  ) {
    assert.equal(
      headersOf({ [DLQ_REDRIVEN_FROM]: value })[DLQ_REDRIVEN_FROM],
      undefined,
      String(value),
    );
  }
  assert.equal(headersOf({})[DLQ_REDRIVEN_FROM], undefined, "a first failure has none");
});

/** Key, value and header bytes of one message: what a broker's max.message.bytes counts. */
function sizeOf(m: Message): number {
  let n = (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [name, v] of Object.entries(m.headers ?? {})) {
    for (const x of [v].flat()) n += name.length + (x === undefined ? 0 : Buffer.byteLength(x));
  }
  return n;
}

/**
 * A producer standing in for a DLQ topic whose broker refuses, like Kafka, a send whose batch is
 * over `maxMessageBytes` (MESSAGE_TOO_LARGE). Records what it took, send by send, and whether a
 * send began before the previous one was acknowledged.
 */
function fakeDlq(maxMessageBytes: number) {
  const taken: { sizes: number[]; offsets: string[]; truncated: boolean[] }[] = [];
  let inFlight = 0;
  let overlapped = false;
  const send = async (record: ProducerRecord): Promise<RecordMetadata[]> => {
    if (inFlight > 0) overlapped = true;
    inFlight++;
    try {
      await new Promise((r) => setTimeout(r, 1));
      const sizes = record.messages.map(sizeOf);
      const total = sizes.reduce((a, b) => a + b, 0);
      if (total > maxMessageBytes) {
        throw Object.assign(
          new Error(
            "The request included a message larger than the max message size the server will accept",
          ),
          { type: "MESSAGE_TOO_LARGE" },
        );
      }
      const header = (m: Message, name: string) => m.headers?.[name]?.toString();
      taken.push({
        sizes,
        offsets: record.messages.map((m) => header(m, "dlq.source.offset")!),
        truncated: record.messages.map((m) => header(m, "dlq.truncated") === "true"),
      });
      return [];
    } finally {
      inFlight--;
    }
  };
  return { producer: { send } as unknown as Producer, taken, overlapped: () => overlapped };
}

function deadLetters(count: number, valueBytes: number): DeadLetterOutcome[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: "dead-letter",
    record: {
      partition: 0,
      offset: String(i),
      key: Buffer.from("poison"),
      value: Buffer.alloc(valueBytes, "x"),
      headers: {},
      timestamp: "0",
    },
    reason: "invalid_json",
    detail: "Unexpected end of JSON input",
  }));
}

const ONE_MIB = 1024 * 1024;

Deno.test("publish() splits a round's dead letters into sends the broker takes, in order, one at a time", async () => {
  // The reproduced stall: 30 records of 600 KB (gzip kept them small on the source topic) were
  // sent in one 18 MB request, refused, and the 64 KiB fallback still summed to 1.9 MiB.
  const dlq = fakeDlq(ONE_MIB);
  const publisher = new DeadLetterPublisher(dlq.producer, {
    topic: "orders.dlq",
    sourceTopic: "orders",
  });
  await publisher.publish(deadLetters(30, 600_000));
  const sent = dlq.taken.flatMap((t) => t.offsets);
  assert.deepEqual(sent, Array.from({ length: 30 }, (_, i) => String(i)), "each once, in order");
  for (const t of dlq.taken) assert.ok(t.sizes.reduce((a, b) => a + b) <= ONE_MIB, `${t.sizes}`);
  assert.ok(dlq.taken.flatMap((t) => t.truncated).every((cut) => !cut), "600 KB is copied whole");
  assert.equal(dlq.overlapped(), false, "a send waits for the one before");
});

Deno.test("publish() sends small dead letters together, not one request each", async () => {
  const dlq = fakeDlq(ONE_MIB);
  const publisher = new DeadLetterPublisher(dlq.producer, {
    topic: "orders.dlq",
    sourceTopic: "orders",
  });
  await publisher.publish(deadLetters(200, 1000));
  assert.deepEqual(dlq.taken.map((t) => t.offsets.length), [200]);
});

Deno.test("publish() falls back to 64 KiB copies in sends that fit a DLQ topic with a small max.message.bytes", async () => {
  const dlq = fakeDlq(200 * 1024);
  const publisher = new DeadLetterPublisher(dlq.producer, {
    topic: "orders.dlq",
    sourceTopic: "orders",
  });
  await publisher.publish(deadLetters(5, 300_000));
  assert.deepEqual(dlq.taken.flatMap((t) => t.offsets), ["0", "1", "2", "3", "4"]);
  assert.ok(dlq.taken.flatMap((t) => t.truncated).every((cut) => cut), "every copy cut");
  for (const t of dlq.taken) assert.ok(t.sizes.reduce((a, b) => a + b) <= 200 * 1024, `${t.sizes}`);
});
