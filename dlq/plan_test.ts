import assert from "node:assert/strict";
import { PartitionLedger } from "./ledger.ts";
import { planBatch } from "./plan.ts";
import type { DeadLetter } from "./record.ts";

function rec(offset: number, reason: string, extra: Record<string, string> = {}): DeadLetter {
  return {
    partition: 0,
    offset: String(offset),
    key: null,
    value: null,
    timestamp: 0,
    headers: { "dlq.reason": reason, "dlq.failed_at": "2026-12-01T00:00:00.000Z", ...extra },
  };
}

Deno.test("planBatch: sends matches, holds the rest, never sends a truncated copy", () => {
  const ledger = PartitionLedger.fromCommit("-1", null);
  const plan = planBatch(ledger, [
    rec(0, "a"),
    rec(1, "a", { "dlq.truncated": "true" }),
    rec(2, "b"),
    rec(3, "a"),
  ], { reason: "a" });
  assert.deepEqual(plan.outcomes.map((o) => o.disposition), ["sent", "truncated", "held", "sent"]);
  assert.deepEqual(plan.toSend.map((r) => r.offset), ["0", "3"]);
  assert.equal(plan.ledger.next, 2n);
  assert.equal(ledger.next, undefined, "the ledger itself is untouched until the acks");
});

Deno.test("planBatch: what an earlier run sent is not sent again", () => {
  const ledger = PartitionLedger.fromCommit("2", "orderflow.dlq-redrive/2 sent=1");
  const plan = planBatch(ledger, [rec(1, "a"), rec(2, "b"), rec(3, "a"), rec(4, "a")], {});
  assert.deepEqual(plan.outcomes.map((o) => o.disposition), [
    "already_sent",
    "sent",
    "already_sent",
    "sent",
  ]);
  assert.equal(plan.ledger.next, 5n);
});

Deno.test("planBatch: time filters use dlq.failed_at, since inclusive, until exclusive", () => {
  const at = Date.parse("2026-12-01T00:00:00.000Z");
  const l = PartitionLedger.fromCommit("-1", null);
  assert.equal(planBatch(l, [rec(0, "a")], { sinceMs: at }).toSend.length, 1);
  assert.equal(planBatch(l, [rec(0, "a")], { untilMs: at }).toSend.length, 0);
});

Deno.test("planBatch: once the ledger is full, every later match is deferred, not sent", () => {
  const plan = planBatch(PartitionLedger.fromCommit("-1", null), [rec(0, "a")], {}, true);
  assert.deepEqual(plan.outcomes.map((o) => o.disposition), ["deferred"]);
  assert.equal(plan.toSend.length, 0);
  assert.ok(plan.full);
});
