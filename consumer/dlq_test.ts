import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { DLQ_REDRIVEN_FROM, dlqHeaders } from "./dlq.ts";
import type { HeaderValue } from "./outcomes.ts";

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
