/** The A/B tool's noise rule and the benches' command-line helper (no services needed). */
import assert from "node:assert/strict";
import { slowerThanNoise } from "../bench/ab.ts";
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
