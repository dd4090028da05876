/**
 * `BatchedSink` removes a version only when one it made durable contains it: the same `dt` and
 * first offset, a greater last. Real LocalSink on a temp dir; what is read is what the read rule
 * selects.
 */
import assert from "node:assert/strict";
import { BatchedSink } from "./batched.ts";
import { readableSegments } from "./segment_key.ts";
import { LocalSink } from "./local.ts";

const enc = new TextEncoder();
const line = (s: string) => enc.encode(s + "\n");
const D1 = "2026-11-01";

async function readable(dir: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const d of Deno.readDir(`${dir}/orders`)) {
    for await (const e of Deno.readDir(`${dir}/orders/${d.name}/part=0`)) {
      keys.push(`orders/${d.name}/part=0/${e.name}`);
    }
  }
  const lines: string[] = [];
  for (const s of readableSegments(keys)) {
    lines.push(...(await Deno.readTextFile(`${dir}/${s.key}`)).split("\n").filter(Boolean));
  }
  return lines.sort();
}

const tick = () => new Promise((r) => setTimeout(r, 150));

Deno.test("BatchedSink keeps an object a re-read starting later does not contain (log start moved past the commit)", async () => {
  const dir = await Deno.makeTempDir();
  const sink = new BatchedSink({ inner: new LocalSink({ dir }), records: 10, maxAgeMs: 20 });
  try {
    for (const o of [0, 1, 2, 3]) {
      sink.append(0, { offset: String(o), dt: D1, body: line(`r${o}`) });
    }
    await tick(); // D1 0-3 durable (uncommitted: the segment is open)
    sink.discard(0); // rebalance; retention deleted offsets 0-1; the re-read starts at 2
    for (const o of [2, 3, 4]) sink.append(0, { offset: String(o), dt: D1, body: line(`r${o}`) });
    await tick(); // D1 2-4 does not contain 0-3: both stay (r2, r3 read twice, none lost)
    assert.deepEqual(await readable(dir), ["r0", "r1", "r2", "r2", "r3", "r3", "r4"]);
  } finally {
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
