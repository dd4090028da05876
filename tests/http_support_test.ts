import assert from "node:assert/strict";
import { checkHistogram, parsePrometheus, valueOf } from "./http_support.ts";

Deno.test("parsePrometheus() reads families and rejects malformed text", () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n' +
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3.5\nh_count 2\n';
  const f = parsePrometheus(ok);
  assert.equal(valueOf(f, "a_total", { x: "1" }), 3);
  assert.deepEqual(checkHistogram(f.get("h")!), { count: 2, sum: 3.5 });
  assert.throws(() => parsePrometheus("a 1\n"), /outside its family/);
  assert.throws(() => parsePrometheus("# TYPE a counter\na 1"), /end with/);
  assert.throws(() => parsePrometheus("# TYPE a counter\na 1\na 2\n"), /Duplicate series/);
  assert.throws(() => parsePrometheus("# TYPE a counter\na{x=1} 2\n"), /labels/);
  assert.throws(() => parsePrometheus("# TYPE a counter\na_bucket 2\n"), /does not fit/);
  assert.throws(
    () =>
      checkHistogram(
        parsePrometheus(
          '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
        ).get("h")!,
      ),
    /drops/,
  );
});
