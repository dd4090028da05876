/**
 * Child of tools_query_race_test.ts (DuckDB needs --allow-ffi, which tests do not get): writes
 * versions of a segment still filling every ~100 ms while it runs 60 queries over the same
 * directory; prints `<failed> <counted twice>` and the first error, exits 0.
 */
import { BatchedSink } from "../consumer/sinks/batched.ts";
import { LocalSink } from "../consumer/sinks/local.ts";
import { queryOrders } from "../tools/query.ts";

const dir = Deno.args[0]!;
const sink = new BatchedSink({
  inner: new LocalSink({ dir, sync: false }),
  records: 100_000,
  maxAgeMs: 100,
});
const enc = new TextEncoder();
let stop = false;
let offset = 0;
const writer = (async () => {
  while (!stop) {
    sink.append(0, {
      offset: String(offset),
      dt: "2026-11-01",
      body: enc.encode(JSON.stringify({ orderId: `o-${offset}`, total: 1 }) + "\n"),
    });
    offset++;
    await new Promise((r) => setTimeout(r, 5));
  }
})();
await new Promise((r) => setTimeout(r, 200));
const errors: string[] = [];
let twice = 0;
for (let i = 0; i < 60; i++) {
  try {
    const r = await queryOrders(
      dir,
      "SELECT count(*) AS n, count(DISTINCT orderId) AS d FROM orders",
    );
    const [n, d] = r.rows[0]!;
    if (String(n) !== String(d)) twice++;
  } catch (error) {
    errors.push((error as Error).message.split("\n")[0]!);
  }
}
stop = true;
await writer;
await sink.close();
console.log(`${errors.length} ${twice} ${errors[0] ?? ""}`);
