/**
 * ScoringHost against real scorer files in temporary plugin directories: hostile plugins are
 * isolated in their sandbox processes, other channels keep their correct scores.
 */
import assert from "node:assert/strict";
import { ScoringHost } from "../plugins_host/host.ts";
import { BUILTIN_FALLBACK_SCORE } from "../plugins_host/types.ts";
import {
  copyRealPlugin,
  LOAD_TIMEOUT_MS,
  order,
  scorerSource,
  tempPluginsDir,
  waitFor,
  writeManifest,
} from "../plugins_host/_testing.ts";

/** Hostile plugins: each misbehaves only for totals >= 500, so it passes the load smoke test. */
const HOSTILE: Record<string, string> = {
  "throws.ts": scorerSource(
    "throws",
    `{ if (order.total >= 500) throw new Error("boom"); return 0.2; }`,
  ),
  "loop.ts": scorerSource("loop", `{ if (order.total >= 500) { for (;;) {} } return 0.2; }`),
  "nan.ts": scorerSource("nan", `order.total >= 500 ? NaN : 0.2`),
  "big.ts": scorerSource("big", `order.total >= 500 ? 1.5 : 0.2`),
  "env.ts": scorerSource(
    "envread",
    `{ if (order.total >= 500) return Deno.env.get("KAFKA_PASSWORD") ? 0.01 : 0.02; return 0.2; }`,
  ),
  "readfile.ts": scorerSource(
    "readfile",
    `{ if (order.total >= 500) return Deno.readTextFileSync("/etc/hostname").length > 0 ? 0.01 : 0.02; return 0.2; }`,
  ),
  "crash.ts": scorerSource(
    "crash",
    `{ if (order.total >= 500) setTimeout(() => { throw new Error("async boom"); }, 0); return 0.2; }`,
  ),
};

/** Plugins that never load. */
const BROKEN: Record<string, string> = {
  "syntax.ts":
    `import { defineScorer } from "@orderflow/scorer";\nexport default defineScorer({ spec: {`,
  "noexport.ts": `export const spec = { name: "noexport" };\n`,
  "wrongshape.ts":
    `export default { spec: { name: "wrongshape", channel: "wrongshape", apiVersion: 1, description: "d", options: {} }, create: 5 };\n`,
  // Port 1 is refused by fetch's bad-port list before permissions; port 2 reaches the check.
  "fetch.ts": scorerSource("fetcher", "0.2", `await fetch("http://127.0.0.1:1/");`),
  "fetch2.ts": scorerSource("fetcher2", "0.2", `await fetch("http://127.0.0.1:2/");`),
};

async function hostileDir(files: Record<string, string>): Promise<string> {
  const dir = await tempPluginsDir(true);
  for (const [name, source] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, source);
  }
  return dir;
}

Deno.test("ScoringHost.score() isolates hostile plugins and keeps other channels correct", async () => {
  const dir = await hostileDir(HOSTILE);
  const logs: string[] = [];
  const host = await ScoringHost.start({
    pluginsDir: dir,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: (line) => logs.push(line),
  });
  try {
    const start = performance.now();
    const orders = [
      order("web", 600),
      order("throws", 600),
      order("loop", 600),
      order("nan", 600),
      order("big", 600),
      order("envread", 600),
      order("readfile", 600),
      order("partner", 2500),
      order("mobile", 600),
      order("unknown", 600),
    ];
    const results = await host.score(orders);
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 1000, `hung plugin must be cut off within 1 s, took ${elapsed} ms`);
    const by = (i: number) => results[i]!;
    assert.deepEqual(by(0), { score: 0.6, scorer: "web", fallback: false });
    assert.deepEqual(by(7), { score: 0.8, scorer: "partner", fallback: false });
    assert.deepEqual(by(8), { score: 0.5, scorer: "mobile", fallback: false });
    assert.deepEqual(by(1), { score: 0.3, scorer: "default", fallback: true, reason: "threw" });
    assert.deepEqual(by(2), { score: 0.3, scorer: "default", fallback: true, reason: "timeout" });
    assert.deepEqual(by(3), {
      score: 0.3,
      scorer: "default",
      fallback: true,
      reason: "invalid_result",
    });
    assert.deepEqual(by(4), {
      score: 0.3,
      scorer: "default",
      fallback: true,
      reason: "invalid_result",
    });
    assert.deepEqual(by(5), { score: 0.3, scorer: "default", fallback: true, reason: "threw" });
    assert.deepEqual(by(6), { score: 0.3, scorer: "default", fallback: true, reason: "threw" });
    assert.deepEqual(by(9), { score: 0.3, scorer: "default", fallback: true, reason: "no_scorer" });

    // The sandbox, not luck: the env and file reads were refused by the permission system.
    const envLog = logs.find((l) => l.includes("env.ts") && l.includes("threw"));
    assert.match(envLog ?? "", /NotCapable: Requires env access to "KAFKA_PASSWORD"/);
    const readLog = logs.find((l) => l.includes("readfile.ts") && l.includes("threw"));
    assert.match(readLog ?? "", /NotCapable: Requires read access/);
    assert.ok(logs.some((l) => l.includes("loop.ts") && l.includes("timeout")), logs.join("\n"));

    // Counters per scorer + reason.
    const metrics = host.metrics();
    const count = (scorer: string, reason: string) =>
      metrics.failures.find((f) => f.scorer === scorer && f.reason === reason)?.count ?? 0;
    assert.equal(count("throws", "threw"), 1);
    assert.equal(count("loop", "timeout"), 1);
    assert.equal(count("nan", "invalid_result"), 1);
    assert.equal(count("big", "invalid_result"), 1);

    // The hung worker was killed and restarts; the loop channel scores cleanly again afterwards.
    await waitFor(
      () => host.status().find((s) => s.channel === "loop")?.state === "ready",
      LOAD_TIMEOUT_MS,
      "the loop scorer to restart",
    );
    const again = await host.score([order("loop", 100), order("web", 100)]);
    assert.deepEqual(again[0], { score: 0.2, scorer: "loop", fallback: false });
    assert.deepEqual(again[1], { score: 0.1, scorer: "web", fallback: false });
    assert.equal(host.status().find((s) => s.channel === "loop")?.restarts, 1);

    // An uncaught async throw kills the worker; it is counted as a crash and restarted.
    await host.score([order("crash", 600), order("web", 300)]);
    await waitFor(
      () => host.status().find((s) => s.channel === "crash")?.restarts === 1,
      LOAD_TIMEOUT_MS,
      "the crashed scorer to restart",
    );
    assert.ok(
      logs.some((l) => l.includes("crash.ts") && l.includes("async boom")),
      logs.join("\n"),
    );

    // Repeated failures are counted every time but logged once per scorer+reason.
    for (let i = 0; i < 5; i++) await host.score([order("throws", 600)]);
    assert.equal(host.metrics().failures.find((f) => f.scorer === "throws")?.count, 6);
    assert.equal(logs.filter((l) => l.includes("throws.ts") && l.includes("threw")).length, 1);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ScoringHost.start() reports plugins that cannot load and still scores", async () => {
  const dir = await hostileDir(BROKEN);
  const logs: string[] = [];
  const host = await ScoringHost.start({
    pluginsDir: dir,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: (line) => logs.push(line),
  });
  try {
    // Plugins that never loaded are reported with their file name and why.
    const status = host.status();
    const failed = (file: string) => status.find((s) => s.file.endsWith(`/${file}`));
    assert.equal(failed("syntax.ts")?.state, "failed");
    assert.match(failed("syntax.ts")?.lastError ?? "", /syntax\.ts/);
    assert.match(failed("noexport.ts")?.lastError ?? "", /no default export/);
    assert.match(failed("wrongshape.ts")?.lastError ?? "", /create must be a function/);
    assert.match(failed("fetch.ts")?.lastError ?? "", /fetch\.ts.*Fetch failed/);
    assert.match(
      failed("fetch2.ts")?.lastError ?? "",
      /NotCapable: Requires net access to "127\.0\.0\.1:2"/,
    );

    const metrics = host.metrics();
    for (const file of Object.keys(BROKEN)) {
      assert.ok(
        metrics.failures.some((f) => f.file.endsWith(`/${file}`) && f.reason === "load_error"),
        `load_error counted for ${file}`,
      );
    }
    const results = await host.score([order("web", 100), order("fetcher2", 100)]);
    assert.deepEqual(results[0], { score: 0.1, scorer: "web", fallback: false });
    assert.deepEqual(results[1], {
      score: 0.3,
      scorer: "default",
      fallback: true,
      reason: "no_scorer",
    });
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ScoringHost.score() uses the built-in constant when the fallback fails too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orderflow-plugins-" });
  try {
    await copyRealPlugin(dir, "web.ts");
    await Deno.writeTextFile(
      `${dir}/bad_default.ts`,
      scorerSource(
        "default",
        `{ if (order.total >= 500) throw new Error("fallback down"); return 0.3; }`,
      ),
    );
    await writeManifest(dir, {
      version: 1,
      discovery: false,
      scorers: [{ name: "web", channel: "web", module: "./web.ts", enabled: true, options: {} }],
      fallback: { module: "./bad_default.ts", options: {} },
    });
    const host = await ScoringHost.start({
      pluginsDir: dir,
      loadTimeoutMs: LOAD_TIMEOUT_MS,
      log: () => {},
    });
    try {
      const results = await host.score([order("pos", 600), order("pos", 100)]);
      assert.deepEqual(results[0], {
        score: BUILTIN_FALLBACK_SCORE,
        scorer: "builtin",
        fallback: true,
        reason: "no_scorer",
      });
      assert.deepEqual(results[1], {
        score: 0.3,
        scorer: "default",
        fallback: true,
        reason: "no_scorer",
      });
      assert.equal(host.metrics().builtin, 1);
    } finally {
      await host.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ScoringHost.start() ignores unlisted files when discovery is off", async () => {
  const dir = await tempPluginsDir(false);
  await Deno.writeTextFile(`${dir}/pos.ts`, scorerSource("pos", "0.42"));
  const host = await ScoringHost.start({
    pluginsDir: dir,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: () => {},
  });
  try {
    const [result] = await host.score([order("pos", 10)]);
    assert.deepEqual(result, {
      score: 0.3,
      scorer: "default",
      fallback: true,
      reason: "no_scorer",
    });
    assert.ok(!host.status().some((s) => s.file.endsWith("/pos.ts")));
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
