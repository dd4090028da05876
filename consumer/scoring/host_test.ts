import assert from "node:assert/strict";
import { ScoringHost } from "./host.ts";
import { LOAD_TIMEOUT_MS, order, tempPluginsDir } from "./_testing.ts";

Deno.test("ScoringHost.score() gives each call, merged or not, its own frozen results", async () => {
  const dir = await tempPluginsDir(false);
  const host = await ScoringHost.start({
    pluginsDir: dir,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: () => {},
  });
  try {
    const call = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => order(i % 2 === 0 ? "web" : "pos", from + i));
    // Three calls in the same turn are scored as one batch per scorer; one large call alone.
    const calls = [call(300, 0), call(500, 1000), call(7, 5000), call(5000, 100)];
    const answers = await Promise.all(calls.map((orders) => host.score(orders)));
    for (const [c, results] of answers.entries()) {
      assert.equal(results.length, calls[c]!.length);
      assert.ok(Object.isFrozen(results), `results of call ${c} are frozen`);
      for (const [i, result] of results.entries()) {
        const o = calls[c]![i]!;
        assert.ok(Object.isFrozen(result));
        assert.deepEqual(
          result,
          o.channel === "web"
            ? { score: Math.min(o.total / 1000, 0.99), scorer: "web", fallback: false }
            : { score: 0.3, scorer: "default", fallback: true, reason: "no_scorer" },
        );
      }
    }
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
