import assert from "node:assert/strict";
import { LatencyHistogram, renderPrometheus } from "../mod.ts";
import { producerExposition } from "./http.ts";

const counts = { read: 3, sent: 3, acked: 3, failed: 0, invalid: 0, elapsedMs: 10 };
const ackLatency = new LatencyHistogram({ name: "ack", help: "" });

Deno.test("producerExposition() adds per-channel edge families only with --score", () => {
  const edge = new Map([
    ["web", { scored: 5, fallbacks: 1, held: 2 }],
    ["pos", { scored: 3, fallbacks: 0, held: 0 }],
  ]);
  const text = renderPrometheus(
    producerExposition({ counts: () => counts, ackLatency, edge: () => edge }),
  );
  assert.match(text, /^orderflow_producer_edge_scored_total\{channel="web"\} 5$/m);
  assert.match(text, /^orderflow_producer_edge_fallbacks_total\{channel="web"\} 1$/m);
  assert.match(text, /^orderflow_producer_held_total\{channel="pos"\} 0$/m);
  const plain = renderPrometheus(producerExposition({ counts: () => counts, ackLatency }));
  assert.doesNotMatch(plain, /orderflow_producer_(edge|held)/);
});
