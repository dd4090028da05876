import assert from "node:assert/strict";
import { settledStatus } from "./cli.ts";
import { DEFAULT_LIMITS } from "./manifest.ts";
import type { ScorerStatus } from "./types.ts";

function status(rssBytes: number | undefined): ScorerStatus {
  return {
    ...DEFAULT_LIMITS,
    channel: "web",
    name: "web",
    file: "/plugins/web.ts",
    source: "manifest",
    state: "ready",
    lastError: undefined,
    lastFailure: undefined,
    restarts: 0,
    busyMs: 0,
    rssBytes,
    isolation: "sandbox",
  };
}

Deno.test("settledStatus() waits for a ready sandbox's first memory report", async () => {
  let calls = 0;
  const host = { status: () => [status(++calls < 4 ? undefined : 50 << 20)] };
  const [row] = await settledStatus(host);
  assert.equal(row!.rssBytes, 50 << 20);
});

Deno.test("settledStatus() gives up after a second and does not wait for other states", async () => {
  const started = Date.now();
  const [row] = await settledStatus({ status: () => [status(undefined)] });
  assert.equal(row!.rssBytes, undefined);
  assert.ok(Date.now() - started < 1500);
  const failed = { ...status(undefined), state: "failed" as const };
  const t = Date.now();
  await settledStatus({ status: () => [failed] });
  assert.ok(Date.now() - t < 100, "a failed plugin has no memory to wait for");
});
