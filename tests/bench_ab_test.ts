/** The A/B tool's noise rule and the benches' command-line helper (no services needed). */
import assert from "node:assert/strict";
import { abVerdict, slowerThanNoise, worseRounds } from "../bench/ab.ts";
import { benchArgs } from "../bench/_harness.ts";

Deno.test("bench:ab calls a row slower only when the new median is worse than every base round", () => {
  // Throughput: higher is better.
  assert.equal(slowerThanNoise([100, 110, 120], [95, 99, 130], true), true); // median 99 < 100
  assert.equal(slowerThanNoise([100, 110, 120], [100, 101, 90], true), false); // median 100
  // Latency: lower is better.
  assert.equal(slowerThanNoise([20, 22, 25], [26, 27, 10], false), true); // median 26 > 25
  assert.equal(slowerThanNoise([20, 22, 25], [25, 24, 40], false), false); // median 25
  assert.equal(slowerThanNoise([], [1], true), false);
});

Deno.test("bench:ab also calls a row slower when the new side lost every one of ≥ 5 paired rounds", () => {
  const base = [87, 72, 94, 85, 69];
  assert.equal(worseRounds(base, [83, 68, 84, 82, 63], true), 5);
  assert.equal(abVerdict(base, [83, 68, 84, 82, 63], true), "SLOWER in every round (5 of 5)");
  assert.equal(
    abVerdict(base, [83, 73, 84, 82, 63], true),
    "within noise (worse in 4 of 5 rounds)",
  );
  assert.equal(
    abVerdict(base.slice(0, 4), [83, 68, 84, 82], true),
    "within noise (worse in 4 of 4 rounds)",
  );
  assert.equal(abVerdict([20, 22, 25], [26, 27, 10], false), "SLOWER than every base round");
  assert.equal(abVerdict([], [1], true), "-");
});

Deno.test("benchArgs gives defaults, flags off unless given, and refuses unknown options", () => {
  const defaults = { records: "100", out: "data/x.md" };
  assert.deepEqual(benchArgs(defaults, ["keep"], []), {
    records: "100",
    out: "data/x.md",
    keep: false,
  });
  assert.deepEqual(benchArgs(defaults, ["keep"], ["--records", "5", "--keep"]), {
    records: "5",
    out: "data/x.md",
    keep: true,
  });
  assert.throws(() => benchArgs(defaults, [], ["--record", "5"]), /Unknown option '--record'/);
});
