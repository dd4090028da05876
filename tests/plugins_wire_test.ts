/**
 * The shared-memory wire through real sandboxed workers: fields are sent once a scorer reads
 * them (a batch that needed more is re-run, never answered from partial data), many batches in
 * flight, exact strings.
 */
import assert from "node:assert/strict";
import { ScoringHost } from "../consumer/scoring/host.ts";
import {
  LOAD_TIMEOUT_MS,
  order,
  scorerSource,
  waitFor,
  writeManifest,
} from "../consumer/scoring/_testing.ts";

const SCORERS: Record<string, string> = {
  // Reads customerId only for big orders: the first big order must not be scored without it.
  "vip.ts": scorerSource(
    "vip",
    `order.total >= 500 ? (order.customerId === "vip" ? 0.9 : 0.6) : 0.2`,
  ),
  // Enumerates the order: needs every field.
  "keys.ts": scorerSource("keys", `Object.keys(order).length / 10`),
  // Reads the order id: lone surrogates and long strings must arrive exactly.
  "ids.ts": scorerSource("ids", `order.orderId === "\\uD800x" ? 0.4 : order.orderId.length / 1e6`),
  // Reads the currency of one order in 4096: every batch of a large call needs a re-run.
  "late.ts": scorerSource(
    "late",
    `order.total % 4096 === 7 ? (order.currency === "USD" ? 0.7 : 0.1) : 0.2`,
  ),
  // Reads nothing.
  "flat.ts": scorerSource("flat", `0.5`),
  "default.ts": scorerSource("default", `0.3`),
};

Deno.test("ScoringHost.score() sends fields as scorers read them and keeps many batches in flight", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orderflow-plugins-" });
  try {
    for (const [name, source] of Object.entries(SCORERS)) {
      await Deno.writeTextFile(`${dir}/${name}`, source);
    }
    await writeManifest(dir, {
      version: 1,
      discovery: false,
      scorers: ["vip", "keys", "ids", "flat", "late"].map((c) => ({
        name: c,
        channel: c,
        module: `./${c}.ts`,
        enabled: true,
        options: {},
      })),
      fallback: { module: "./default.ts", options: {} },
    });
    const host = await ScoringHost.start({
      pluginsDir: dir,
      loadTimeoutMs: LOAD_TIMEOUT_MS,
      log: () => {},
    });
    try {
      const small = await host.score([order("vip", 100), order("vip", 200)]);
      assert.deepEqual(small.map((r) => r.score), [0.2, 0.2]);
      const vip = { ...order("vip", 600), customerId: "vip" };
      const big = await host.score([order("vip", 100), vip, order("vip", 700)]);
      assert.deepEqual(big.map((r) => r.score), [0.2, 0.9, 0.6]);
      assert.ok(big.every((r) => !r.fallback));

      const keys = await host.score([order("keys", 1), {
        ...order("keys", 2),
        producedAt: "2026-11-26T20:00:00.010Z",
      }]);
      assert.deepEqual(keys.map((r) => r.score), [0.7, 0.8]);

      const long = "x".repeat(5000);
      const ids = await host.score([order("ids", 1, "\uD800x"), order("ids", 1, long)]);
      assert.deepEqual(ids.map((r) => r.score), [0.4, 5000 / 1e6]);

      // 40 batches at once (more than the 4 slots per worker), mixed channels and fallback.
      const batches = Array.from(
        { length: 40 },
        (_, b) =>
          Array.from(
            { length: 50 },
            (_, i) => order(["vip", "flat", "pos"][i % 3]!, 100 + b * 10 + i, `o-${b}-${i}`),
          ),
      );
      const all = await Promise.all(batches.map((batch) => host.score(batch)));
      all.forEach((results, b) =>
        results.forEach((r, i) => {
          const channel = ["vip", "flat", "pos"][i % 3]!;
          const total = 100 + b * 10 + i;
          const expected = channel === "vip"
            ? (total >= 500 ? 0.6 : 0.2)
            : channel === "flat"
            ? 0.5
            : 0.3;
          assert.equal(r.score, expected, `batch ${b} order ${i}`);
        })
      );
      // One call larger than a batch: cut into several batches in flight at once; each of them
      // needs the currency, which the scorer asks for only after they were all written.
      const many = Array.from(
        { length: 12_000 },
        (_, i) => order(i % 2 === 1 ? "late" : "pos", i, `m-${i}`),
      );
      const manyResults = await host.score(many);
      manyResults.forEach((r, i) => {
        const expected = i % 2 === 0 ? 0.3 : i % 4096 === 7 ? 0.7 : 0.2;
        assert.equal(r.score, expected, `order ${i}`);
      });

      const m = host.metrics();
      assert.deepEqual(m.failures, []);
      assert.equal(m.builtin, 0);
      await waitFor(() => host.status().every((s) => s.state === "ready"), 1000, "ready");
    } finally {
      await host.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
