import assert from "node:assert/strict";
import { UsageError } from "../cli/usage.ts";
import { DLQ_DEFAULTS, parseCli, parseTime } from "./cli.ts";

Deno.test("parseCli: commands, defaults and filters", () => {
  assert.deepEqual(parseCli(["stats"]), {
    command: "stats",
    common: {
      json: false,
      quiet: false,
      timeoutMs: DLQ_DEFAULTS.timeoutS * 1000,
      progressIntervalMs: DLQ_DEFAULTS.progressIntervalS * 1000,
    },
  });
  const show = parseCli(["show", "--reason", "empty", "--limit", "3", "--json"]);
  assert.ok(show.command === "show" && show.limit === 3 && show.common.json);
  assert.equal(show.command === "show" && show.filter.reason, "empty");
  const r = parseCli(["redrive", "--since", "1h", "--until", "2026-12-06T00:00:00Z"], 5 * 3600e3);
  assert.ok(r.command === "redrive" && !r.dryRun && r.group === undefined);
  assert.equal(r.command === "redrive" && r.filter.sinceMs, 4 * 3600e3);
  assert.equal(parseCli(["-h"]).command, "help");
  assert.equal(parseCli(["redrive", "--help"]).command, "help");
});

Deno.test("parseCli: usage errors", () => {
  for (
    const args of [
      [],
      ["frobnicate"],
      ["stats", "extra"],
      ["stats", "--reason", "x"],
      ["show", "--dry-run"],
      ["show", "--limit", "0"],
      ["show", "--limit", "x"],
      ["redrive", "--since", "yesterday"],
      ["redrive", "--since", "2h", "--until", "3h"],
      ["redrive", "--group", "a b"],
      ["redrive", "--reason", ""],
      ["stats", "--timeout", "0"],
      ["stats", "--progress-interval", "0"],
      ["stats", "--bogus"],
    ]
  ) {
    assert.throws(() => parseCli(args, 10 * 3600e3), UsageError, JSON.stringify(args));
  }
});

Deno.test("parseTime: ISO-8601 needs a date; ages in s, m, h, d", () => {
  assert.equal(parseTime("--since", "90s", 100_000), 10_000);
  assert.equal(parseTime("--since", "1d", 86400e3), 0);
  assert.equal(parseTime("--since", "2026-12-06T03:00:00Z", 0), Date.parse("2026-12-06T03:00:00Z"));
  assert.throws(() => parseTime("--since", "12", 0), UsageError, "V8 would read 12 as a date");
});
