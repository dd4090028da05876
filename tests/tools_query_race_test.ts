/**
 * `deno task query` over a directory a consumer is writing (batched layout): a segment still
 * filling gets a new version every --batch-max-age and the writer removes the smaller one, so a
 * file the query listed can be gone when DuckDB opens it. The query must list again, not fail.
 */
import assert from "node:assert/strict";
import { uniqueName } from "./_infra.ts";

Deno.test("deno task query succeeds while a segment still filling is rewritten under it", async () => {
  const dir = `./data/${uniqueName("query-race")}`;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-ffi",
        "--allow-env",
        "--allow-read",
        "--allow-write=./data",
        "tests/_query_race_child.ts",
        dir,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(out.code, 0);
    const [failed, twice, ...first] = new TextDecoder().decode(out.stdout).trim().split(" ");
    assert.equal(Number(failed), 0, `queries failed while the consumer wrote: ${first.join(" ")}`);
    assert.equal(Number(twice), 0, "a query counted an order twice");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  }
});
