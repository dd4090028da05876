import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { DeadLetter } from "./record.ts";
import { formatRecord, recordJson } from "./show.ts";
import { DlqStats, formatStats } from "./stats.ts";

function dead(offset: string, extra: Record<string, string | Buffer> = {}): DeadLetter {
  return {
    partition: 0,
    offset,
    key: null,
    value: null,
    timestamp: 0,
    headers: {
      "dlq.reason": "invalid_json",
      "dlq.failed_at": "2026-12-01T00:00:00.000Z",
      ...extra,
    },
  };
}

const again = dead("9", { "dlq.redriven_from": Buffer.from("0@3") });

Deno.test("show: a dead letter that failed again after a redrive says where it came from", () => {
  assert.match(
    formatRecord(again),
    /^--- 0@9 invalid_json, failed 2026-12-01T00:00:00\.000Z, redriven from 0@3\n/,
  );
  assert.match(formatRecord(again), /^ {2}dlq\.redriven_from: 0@3$/m);
  assert.equal(recordJson(again).redriven_from, "0@3");
  assert.doesNotMatch(formatRecord(dead("3")), /redriven/);
  assert.equal(recordJson(dead("3")).redriven_from, null);
});

Deno.test("stats: counts the dead letters redriven before, the sample says from where", () => {
  const s = new DlqStats();
  s.add(again);
  s.add(dead("3"));
  s.add(dead("10", { "dlq.redriven_from": "nonsense" }));
  const r = s.report("orders.dlq");
  assert.equal(r.redriven, 1);
  assert.equal(r.samples[0]?.redriven_from, "0@3");
  const text = formatStats(r);
  assert.match(text, /^redriven before and dead-lettered again \(dlq\.redriven_from\): 1$/m);
  assert.match(text, /^ {2}invalid_json at 0@9, failed .*, redriven from 0@3$/m);
});
