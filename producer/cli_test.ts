import assert from "node:assert/strict";
import { UsageError } from "../cli/usage.ts";
import { CLI_DEFAULTS, parseCli } from "./cli.ts";

Deno.test("parseCli() applies defaults for a synthetic run", () => {
  const o = parseCli([]);
  assert.equal(o.count, CLI_DEFAULTS.count);
  assert.equal(o.rate, 0);
  assert.equal(o.batchSize, 500);
  assert.equal(o.lingerMs, 20);
  assert.equal(o.maxInFlight, 5);
  assert.equal(o.idempotent, false);
  assert.equal(o.validate, true);
  assert.equal(o.file, undefined);
  assert.equal(o.mix, undefined, "no --mix: the plugins' channels decide");
  assert.equal(o.score, false);
  assert.equal(o.holdAbove, undefined);
});

Deno.test("parseCli() leaves count unlimited with --duration or --file", () => {
  assert.equal(parseCli(["--duration", "1.5"]).count, undefined);
  assert.equal(parseCli(["--duration", "1.5"]).durationS, 1.5);
  assert.equal(parseCli(["--file", "x.jsonl"]).count, undefined);
  assert.equal(parseCli(["--file", "x.jsonl", "--count", "3"]).count, 3);
});

Deno.test("parseCli() reads negated and valued flags", () => {
  const o = parseCli([
    "--idempotent",
    "--seed=42",
    "--mix",
    "web=1,kiosk=1",
    "--rate",
    "1000",
    "--topic",
    "t.x",
    "--batch-size",
    "10",
    "--linger-ms",
    "0",
    "--max-in-flight",
    "1",
    "--json",
    "--deliveries",
  ]);
  assert.equal(o.idempotent, true);
  assert.equal(o.seed, 42);
  assert.deepEqual(o.mix?.weights.map((w) => w.channel), ["web", "kiosk"]);
  assert.equal(o.rate, 1000);
  assert.equal(o.topic, "t.x");
  assert.deepEqual([o.batchSize, o.lingerMs, o.maxInFlight], [10, 0, 1]);
  assert.ok(o.json && o.deliveries);
  assert.equal(parseCli(["--idempotent", "--no-idempotent"]).idempotent, false);
});

Deno.test("parseCli() rejects unknown flags, bad values and contradictions", () => {
  for (
    const args of [
      ["--bogus"],
      ["positional"],
      ["--count", "1.5"],
      ["--count", "abc"],
      ["--rate", "-1"],
      ["--duration", "0"],
      ["--batch-size", "0"],
      ["--max-in-flight", "0"],
      ["--seed", "4294967296"],
      ["--mix", "Web=1"],
      ["--topic", "a/b"],
      ["--no-validate"],
      ["--file", "x", "--seed", "1"],
      ["--file", ""],
      ["--hold-above", "1.5"],
      ["--hold-above", "x"],
      ["--hold-topic", "review"],
      ["--hold-above", "0.5", "--hold-topic", "a/b"],
      ["--score", "--file", "x", "--no-validate"],
    ]
  ) {
    assert.throws(() => parseCli(args), UsageError, args.join(" "));
  }
});

Deno.test("parseCli() reads the edge-scoring flags: --hold-above implies --score", () => {
  assert.equal(parseCli(["--score"]).score, true);
  const o = parseCli(["--hold-above", "0.7"]);
  assert.deepEqual([o.score, o.holdAbove, o.holdTopic], [true, 0.7, "orders.review"]);
  assert.equal(parseCli(["--hold-above", "0", "--hold-topic", "t.r"]).holdTopic, "t.r");
});
