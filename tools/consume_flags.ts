/**
 * The V8 flags `deno task consume` runs the consumer with (from its task line in deno.json), so
 * tools that start `consumer/main.ts` themselves (the demo, the benchmarks) run it the same way.
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };

/**
 * The `--v8-flags=...` words of the `consume` task (none when it has none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { consumeV8Flags } from "./consume_flags.ts";
 * assert.ok(consumeV8Flags().every((w) => w.startsWith("--v8-flags=")));
 * ```
 */
export function consumeV8Flags(): string[] {
  const task = (config.tasks as Record<string, string>)["consume"] ?? "";
  return task.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
}
