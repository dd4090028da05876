import assert from "node:assert/strict";
import { PluginLog } from "./plugin_log.ts";

Deno.test("PluginLog cuts long lines, allows a burst of 40 lines, then 20 a second", () => {
  let now = 0;
  const lines: string[] = [];
  const log = new PluginLog("p", (l) => lines.push(l), () => {}, () => now);
  log.push("x".repeat(2050) + "\n");
  assert.deepEqual(lines, [`plugin p: ${"x".repeat(2048)} …(2 more characters)`]);
  log.push("line\n".repeat(45));
  assert.equal(lines.length, 40);
  now = 100; // two more tokens
  log.push("a\nb\nc\n");
  assert.deepEqual(lines.slice(40), [
    "plugin p: a (6 lines dropped before this)",
    "plugin p: b",
  ]);
  log.end();
  assert.equal(lines.at(-1), "plugin p: (1 lines dropped)");
  assert.equal(log.recent.length, 32);
  now = 60_000; // a long quiet spell refills only the burst
  lines.length = 0;
  log.push("line\n".repeat(45));
  assert.equal(lines.length, 40);
});

Deno.test("PluginLog raises the flood alarm once past 1 MiB in a second", () => {
  let now = 0;
  let floods = 0;
  const log = new PluginLog("p", () => {}, () => floods++, () => now);
  log.push("y".repeat(1024 * 1024));
  assert.equal(floods, 0);
  now = 999;
  log.push("yy");
  log.push("y".repeat(1024 * 1024));
  assert.equal(floods, 1);
  log.push("y".repeat(2 * 1024 * 1024));
  assert.equal(floods, 1);
});

Deno.test("PluginLog raises the flood alarm past 5000 lines in a second, whatever their bytes", () => {
  let now = 0;
  let floods = 0;
  const lines: string[] = [];
  const log = new PluginLog("p", (l) => lines.push(l), () => floods++, () => now);
  log.push("chatty\n".repeat(4000)); // a chatty plugin: no alarm
  now = 1000;
  log.push("\n".repeat(5000));
  assert.equal(floods, 0);
  now = 1100;
  const before = lines.length;
  log.push("\n".repeat(90_000)); // 0.9 M empty lines a second are well under 1 MiB/s
  assert.equal(floods, 1);
  log.push("\n".repeat(90_000));
  assert.equal(floods, 1);
  assert.ok(lines.length - before <= 2, `${lines.length - before} lines let through`); // 100 ms of tokens
  assert.equal(log.recent.length, 32);
});
