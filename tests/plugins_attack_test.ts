/**
 * Hostile plugins, one test per attack class: each asserts that the host survives, that the
 * other channels get their correct scores within their deadline while the attack runs, and
 * that the attack costs only the hostile plugin (a named, counted failure, a fallback score).
 */
import assert from "node:assert/strict";
import { ScoringHost } from "../plugins_host/host.ts";
import { ConsumerMetrics } from "../consumer/metrics.ts";
import { consumerExposition } from "../consumer/http/exposition.ts";
import { renderPrometheus } from "../mod.ts";
import type { ScorerStatus } from "../plugins_host/types.ts";
import {
  LOAD_TIMEOUT_MS,
  order,
  scorerSource,
  tempPluginsDir,
  waitFor,
  writeManifest,
} from "../plugins_host/_testing.ts";

const SHIPPED = [
  { name: "web", channel: "web", module: "./web.ts", options: {} },
  { name: "partner", channel: "partner", module: "./partner.ts", options: {} },
  { name: "mobile", channel: "mobile", module: "./mobile.ts", options: {} },
];
/** The shipped scorers' default deadline (250 ms) plus the per-order budget of 3 orders. */
const OTHERS_DEADLINE_MS = 250;

interface Setup {
  /** Hostile files written into the plugins directory. */
  readonly files: Record<string, string>;
  /** Manifest entries for some of them (the others are discovered). */
  readonly entries?: readonly Record<string, unknown>[];
  /** Replaces the shipped manifest entries (for the hijack test). */
  readonly shipped?: readonly Record<string, unknown>[];
}

async function withHost(
  setup: Setup,
  fn: (host: ScoringHost, logs: string[], dir: string) => Promise<void>,
): Promise<void> {
  const dir = await tempPluginsDir(true);
  for (const [name, source] of Object.entries(setup.files)) {
    await Deno.writeTextFile(`${dir}/${name}`, source);
  }
  await writeManifest(dir, {
    version: 1,
    discovery: true,
    scorers: [...(setup.shipped ?? SHIPPED), ...(setup.entries ?? [])],
    fallback: { module: "./default.ts", options: {} },
  });
  const logs: string[] = [];
  const host = await ScoringHost.start({
    pluginsDir: dir,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: (line) => logs.push(line),
  });
  try {
    await fn(host, logs, dir);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Scores one order of each shipped channel; asserts the scores and that they met the deadline. */
async function othersAreFine(host: ScoringHost): Promise<void> {
  const started = performance.now();
  const results = await host.score([order("web", 600), order("partner", 2500), order("mobile", 5)]);
  const ms = performance.now() - started;
  assert.deepEqual(results, [
    { score: 0.6, scorer: "web", fallback: false },
    { score: 0.8, scorer: "partner", fallback: false },
    { score: 0.5, scorer: "mobile", fallback: false },
  ]);
  assert.ok(ms < OTHERS_DEADLINE_MS, `other channels took ${Math.round(ms)} ms`);
}

/** Scores `channel` at `total` while the other channels are scored concurrently. */
async function attack(host: ScoringHost, channel: string, total = 600) {
  const [result] = await Promise.all([
    host.score([order(channel, total)]).then((r) => r[0]!),
    othersAreFine(host),
  ]);
  return result;
}

function row(host: ScoringHost, file: string): ScorerStatus {
  const found = host.status().find((s) => s.file.endsWith(`/${file}`));
  assert.ok(found, `no status row for ${file}`);
  return found;
}

/** The consumer's /metrics text with `host` as its scoring host. */
function metricsText(host: ScoringHost): string {
  return renderPrometheus(
    consumerExposition({
      metrics: new ConsumerMetrics({ now: Date.now }),
      inFlight: () => 0,
      probeSink: () => Promise.resolve(),
      scoring: host,
    }, { version: "test", deno: Deno.version.deno }),
  );
}

function failures(host: ScoringHost, scorer: string, reason: string): number {
  return host.metrics().failures.find((f) => f.scorer === scorer && f.reason === reason)?.count ??
    0;
}

async function restarted(host: ScoringHost, channel: string): Promise<void> {
  await waitFor(
    async () => !(await host.score([order(channel, 100)]))[0]!.fallback,
    10_000,
    `${channel} to restart`,
  );
}

Deno.test("attack: memory — a plugin over its heap or RSS cap dies alone as oom and restarts", async () => {
  const heap =
    `{ if (order.total >= 500) { const a = []; for (;;) a.push(new Array(1e5).fill(order.total)); } return 0.2; }`;
  const buffers =
    `{ if (order.total >= 500) { const keep = []; for (;;) { const b = new Uint8Array(8 << 20); b.fill(1); keep.push(b); } } return 0.2; }`;
  await withHost({
    files: { "hog.ts": scorerSource("hog", heap), "bufhog.ts": scorerSource("bufhog", buffers) },
    entries: [
      { name: "hog", channel: "hog", module: "./hog.ts", memoryMb: 32, deadlineMs: 10_000 },
      {
        name: "bufhog",
        channel: "bufhog",
        module: "./bufhog.ts",
        memoryMb: 32,
        deadlineMs: 10_000,
      },
    ],
  }, async (host) => {
    const rssBefore = Deno.memoryUsage().rss;
    const [hog, bufhog] = await Promise.all([attack(host, "hog"), attack(host, "bufhog")]);
    assert.deepEqual(hog, { score: 0.3, scorer: "default", fallback: true, reason: "oom" });
    assert.deepEqual(bufhog, { score: 0.3, scorer: "default", fallback: true, reason: "oom" });
    assert.equal(failures(host, "hog", "oom"), 1);
    assert.equal(failures(host, "bufhog", "oom"), 1);
    assert.ok(Deno.memoryUsage().rss - rssBefore < 64 * 1048576, "the host's memory grew");
    await restarted(host, "hog");
    await restarted(host, "bufhog");
    assert.equal(row(host, "hog.ts").lastFailure, "oom");
    assert.equal(row(host, "hog.ts").memoryMb, 32);
    await othersAreFine(host);
  });
});

Deno.test("attack: reads via import — .env, JSON and /proc/self/environ stay unreadable, no bytes leak", async () => {
  const outside = await Deno.makeTempDir({ prefix: "orderflow-secret-" });
  const env = `${outside}/.env`;
  const json = `${outside}/secret.json`;
  await Deno.writeTextFile(env, "KAFKA_PASSWORD=hunter2-secret\n");
  await Deno.writeTextFile(json, `{ "password": "hunter2-secret" }`);
  try {
    await withHost({
      files: {
        "staticenv.ts": `import secret from ${JSON.stringify(env)} with { type: "json" };\n` +
          scorerSource("staticenv", "0.2", "console.error(secret);"),
        "staticjson.ts":
          `import secret from "../${
            json.split("/").slice(-2).join("/")
          }" with { type: "json" };\n` +
          scorerSource("staticjson", "0.2", "console.error(secret);"),
        "dynamic.ts": scorerSource(
          "dynamic",
          "{ if (order.total >= 500) throw new Error(String(globalThis.leak)); return 0.2; }",
          `globalThis.leak = [];
for (const url of [${JSON.stringify(env)}, ${JSON.stringify(json)}, "/proc/self/environ"]) {
  await import(url, { with: { type: "json" } }).then(
    (m) => globalThis.leak.push(JSON.stringify(m.default)),
    (e) => globalThis.leak.push(String(e)),
  );
}
console.error(String(globalThis.leak));`,
        ),
      },
    }, async (host, logs, dir) => {
      // The static imports are outside the plugins dir: load errors naming the path only.
      for (const [file, path] of [["staticenv.ts", env], ["staticjson.ts", json]] as const) {
        const r = row(host, file);
        assert.equal(r.state, "failed");
        assert.match(r.lastError ?? "", /Requires read access/);
        assert.ok(r.lastError?.includes(path.split("/").pop()!), r.lastError);
      }
      const result = await attack(host, "dynamic");
      assert.deepEqual(result, {
        score: 0.3,
        scorer: "default",
        fallback: true,
        reason: "threw",
      });
      const everything = [...logs, ...host.status().map((s) => s.lastError ?? "")].join("\n");
      assert.match(everything, /Requires read access to "\/proc\/self\/environ"/);
      assert.ok(!everything.includes("hunter2"), "a secret byte reached the host");
      assert.ok(!everything.includes("KAFKA_PASSWORD"), "a secret byte reached the host");
      assert.ok(dir.length > 0);
      await othersAreFine(host);
    });
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("attack: remote import — never resolved or attempted, static or dynamic", async () => {
  const canary = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(canary.addr as Deno.NetAddr).port}/evil.ts`;
  let connections = 0;
  const accepting = (async () => {
    try {
      for await (const conn of canary) {
        connections++;
        conn.close();
      }
    } catch {
      // closed
    }
  })();
  try {
    await withHost({
      files: {
        "remote.ts": `import ${JSON.stringify(url)};\n` + scorerSource("remote", "0.2"),
        "npm.ts": `import "npm:left-pad@1.3.0";\n` + scorerSource("npmimport", "0.2"),
        "remotedyn.ts": scorerSource(
          "remotedyn",
          "0.2",
          `await import(${
            JSON.stringify(url)
          }).then(() => console.error("imported"), (e) => console.error(String(e)));
await fetch(${JSON.stringify(url)}).catch((e) => console.error(String(e)));`,
        ),
      },
    }, async (host, logs) => {
      assert.equal(row(host, "remote.ts").state, "failed");
      assert.match(row(host, "remote.ts").lastError ?? "", /Requires import access|--no-remote/);
      assert.equal(row(host, "npm.ts").state, "failed");
      assert.equal(row(host, "remotedyn.ts").state, "ready");
      assert.ok(!logs.some((l) => l.includes("plugin remotedyn: imported")), logs.join("\n"));
      assert.deepEqual(await attack(host, "remotedyn"), {
        score: 0.2,
        scorer: "remotedyn",
        fallback: false,
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(connections, 0, "a remote import or fetch reached the network");
    });
  } finally {
    canary.close();
    await accepting;
  }
});

Deno.test("attack: tampering with shared state — the harness, globals and orders are the plugin's own", async () => {
  await withHost({
    files: {
      "tamper.ts": scorerSource(
        "tamper",
        `{
  if (order.total >= 500) {
    order.total = 0; order.channel = "web"; Object.prototype.polluted = true;
    JSON.stringify = () => '{"type":"scored","id":999999,"scores":[0.1],"errors":[]}';
  }
  return 0.2;
}`,
      ),
    },
  }, async (host) => {
    const hostile = order("tamper", 600);
    // The first hostile call arms the tampering (the harness already holds JSON.stringify for
    // that reply); the next reply is forged.
    await host.score([order("tamper", 700)]);
    const [result] = await Promise.all([
      host.score([hostile]).then((r) => r[0]),
      othersAreFine(host),
    ]);
    assert.deepEqual(result, {
      score: 0.3,
      scorer: "default",
      fallback: true,
      reason: "protocol",
    });
    assert.equal(hostile.total, 600);
    assert.equal(hostile.channel, "tamper");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(failures(host, "tamper", "protocol"), 1);
    await restarted(host, "tamper");
    await othersAreFine(host);
  });
});

Deno.test("attack: forged messages — null, wrong types, a numeric channel: protocol failures", async () => {
  await withHost({
    files: {
      "forgenull.ts": scorerSource(
        "forgenull",
        `{ if (order.total >= 500) self.postMessage("null"); return 0.2; }`,
      ),
      "forgestr.ts": scorerSource(
        "forgestr",
        `{ if (order.total >= 500) Deno.stdout.writeSync(new TextEncoder().encode('{"type":"scored","id":2,"scores":["0.1"],"errors":[]}\\n')); return 0.2; }`,
      ),
      "forgespec.ts": scorerSource(
        "forgespec",
        "0.2",
        `self.postMessage(JSON.stringify({ type: "loaded", spec: { name: "forgespec", channel: 5 } }));`,
      ),
    },
  }, async (host) => {
    const [forgenull, forgestr] = await Promise.all([
      attack(host, "forgenull"),
      attack(host, "forgestr"),
    ]);
    assert.equal(forgenull.reason, "protocol");
    assert.equal(forgestr.reason, "protocol");
    assert.equal(forgenull.scorer, "default");
    const spec = row(host, "forgespec.ts");
    assert.equal(spec.state, "failed");
    assert.match(spec.lastError ?? "", /protocol: the loaded spec is invalid/);
    // Status, metrics and their text forms keep working.
    assert.ok(JSON.stringify(host.status()).length > 0);
    assert.equal(failures(host, "forgenull", "protocol"), 1);
    await restarted(host, "forgenull");
    await othersAreFine(host);
  });
});

Deno.test("attack: deadline creep — after many quick calls a hang still costs deadline + 100 ms", async () => {
  const deadlineMs = 200;
  await withHost({
    files: {
      "creep.ts": scorerSource("creep", `{ if (order.total >= 500) for (;;); return 0.2; }`),
    },
    entries: [{ name: "creep", channel: "creep", module: "./creep.ts", deadlineMs }],
  }, async (host) => {
    for (let i = 0; i < 60; i++) {
      assert.equal((await host.score([order("creep", 100)]))[0]!.scorer, "creep");
    }
    const started = performance.now();
    const result = await attack(host, "creep");
    const ms = performance.now() - started;
    assert.equal(result.reason, "timeout");
    assert.ok(ms <= deadlineMs + 0.05 + 100, `a hang cost ${Math.round(ms)} ms`);
    assert.equal(failures(host, "creep", "timeout"), 1);
    await restarted(host, "creep");
  });
});

async function processesWith(text: string): Promise<string[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid,args"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.includes(text));
}

Deno.test("attack: nested workers — a plugin cannot start one; its process dies with it", async () => {
  let dir = "";
  await withHost({
    files: {
      "nest.ts": scorerSource(
        "nest",
        `{ if (order.total >= 500) for (;;); return 0.2; }`,
        `try {
  new Worker("data:text/javascript,setInterval(() => {}, 1000)", { type: "module" });
  console.error("nested worker started");
} catch (e) {
  console.error("nested worker refused: " + e);
}`,
      ),
    },
  }, async (host, logs, pluginsDir) => {
    dir = pluginsDir;
    assert.ok(logs.some((l) => l.includes("nested worker refused")), logs.join("\n"));
    assert.equal((await processesWith(`${dir}/nest.ts`)).length, 1);
    assert.equal((await attack(host, "nest")).reason, "timeout");
    await restarted(host, "nest");
  });
  // host.close() has returned: no plugin process of this directory is left.
  assert.deepEqual(await processesWith(dir), []);
});

Deno.test("attack: channel hijack — a discovered file cannot take a manifest channel, loaded or not", async () => {
  await withHost({
    files: {
      "broken.ts": `export default {`,
      "evil.ts": scorerSource("web", "0.01").replace('name: "web"', 'name: "evil"'),
      "evil2.ts": scorerSource("partner", "0.01").replace('name: "partner"', 'name: "evil2"'),
    },
    shipped: [
      { name: "web", channel: "web", module: "./broken.ts", options: {} },
      ...SHIPPED.slice(1),
    ],
  }, async (host, _logs, dir) => {
    const [web, partner] = await host.score([order("web", 600), order("partner", 2500)]);
    assert.deepEqual(web, { score: 0.3, scorer: "default", fallback: true, reason: "unavailable" });
    assert.deepEqual(partner, { score: 0.8, scorer: "partner", fallback: false });
    for (const [file, owner] of [["evil.ts", "web"], ["evil2.ts", "partner"]]) {
      assert.equal(row(host, file!).state, "conflict");
      assert.match(row(host, file!).lastError ?? "", new RegExp(`manifest entry "${owner}"`));
    }
    const cli = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-run=deno",
        "plugins_host/cli.ts",
        "list",
        "--dir",
        dir,
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    const table = new TextDecoder().decode(cli.stdout);
    assert.match(table, /web\s+evil\s+evil\.ts\s+conflict/);
    assert.match(table, /STATE\s+MEMORY\s+DEADLINE/);
    // A ready sandbox's row has its resident memory (settledStatus in cli_test.ts).
    assert.match(table, /partner\s+partner\s+partner\.ts\s+ready\s+\d+ MiB\s+\d+ ms\s+\d+ MiB/);
    const metrics = metricsText(host);
    // evil.ts, evil2.ts, and the real web.ts, now unlisted and discovered: web belongs to broken.ts.
    assert.match(metrics, /orderflow_scorers\{state="conflict"\} 3/);
  });
});

Deno.test("attack: name hijack — a discovered file cannot take a scorer's name for its own channel", async () => {
  await withHost({
    files: {
      // It also crashes once loaded: its failures must not count as web's.
      "dup.ts": scorerSource("dup", "0.01", `setTimeout(() => { throw new Error("x"); }, 50);`)
        .replace('name: "dup"', 'name: "web"'),
      "dup2.ts": scorerSource("dup2", "0.01").replace('name: "dup2"', 'name: "default"'),
      "dup3.ts": scorerSource("dup3", "0.01").replace('name: "dup3"', 'name: "builtin"'),
    },
  }, async (host) => {
    const refused = [
      ["dup.ts", /belongs to manifest entry "web"/],
      ["dup2.ts", /already used by .*default\.ts/],
      ["dup3.ts", /already used by the host's built-in fallback/],
    ] as const;
    for (const [file, owner] of refused) {
      assert.equal(row(host, file).state, "conflict");
      assert.match(row(host, file).lastError ?? "", owner);
    }
    const [dup] = await host.score([order("dup", 600)]);
    assert.equal(dup!.scorer, "default", "no order is stamped with a name it did not earn");
    await othersAreFine(host);
    await waitFor(
      () => host.metrics().failures.some((f) => f.file.endsWith("/dup.ts")),
      10_000,
      "dup.ts to crash",
    );
    const metrics = metricsText(host);
    assert.equal(
      metrics.match(/^orderflow_scorer_busy_seconds_total\{scorer="web"\}/gm)?.length,
      1,
    );
    assert.doesNotMatch(metrics, /^orderflow_scorer_failures_total\{scorer="web"/m);
    assert.match(metrics, /^orderflow_scorer_failures_total\{scorer="[^"]*\/dup\.ts"/m);
  });
});

Deno.test("attack: flooding — junk messages and a log flood stop the plugin, not the host", async () => {
  await withHost({
    files: {
      "floodout.ts": scorerSource(
        "floodout",
        `{ if (order.total >= 500) for (let i = 0; i < 200000; i++) self.postMessage("junk".repeat(50)); return 0.2; }`,
      ),
      "floodmem.ts": scorerSource(
        "floodmem",
        `{ if (order.total >= 500) for (let i = 0; i < 2000; i++) self.postMessage('{"type":"memory","rss":1}'); return 0.2; }`,
      ),
      "flooderr.ts": scorerSource(
        "flooderr",
        `{ if (order.total >= 500) { const line = "x".repeat(1000); for (let i = 0; i < 50000; i++) console.error(line); } return 0.2; }`,
      ),
    },
  }, async (host, logs) => {
    const rssBefore = Deno.memoryUsage().rss;
    const [out, err, mem] = await Promise.all([
      attack(host, "floodout"),
      attack(host, "flooderr"),
      attack(host, "floodmem"),
    ]);
    assert.equal(out.reason, "protocol");
    assert.equal(mem.reason, "flood");
    assert.ok(err.reason === "flood", `flooderr failed as ${err.reason}`);
    assert.ok(Deno.memoryUsage().rss - rssBefore < 64 * 1048576, "the host's memory grew");
    const floodLines = logs.filter((l) => l.startsWith("plugin flooderr: "));
    assert.ok(floodLines.length <= 45, `${floodLines.length} log lines let through`);
    await restarted(host, "floodout");
    await restarted(host, "flooderr");
    await restarted(host, "floodmem");
    await othersAreFine(host);
  });
});

Deno.test("attack: slowness — a slow plugin delays only its own channel and shows in busyMs", async () => {
  await withHost({
    files: {
      "slow.ts": scorerSource(
        "slow",
        `{ const until = performance.now() + 300; while (performance.now() < until); return 0.2; }`,
      ),
    },
    entries: [{ name: "slow", channel: "slow", module: "./slow.ts", deadlineMs: 2000 }],
  }, async (host) => {
    const before = row(host, "slow.ts").busyMs;
    const started = performance.now();
    const result = await attack(host, "slow"); // othersAreFine asserts < 250 ms meanwhile
    assert.deepEqual(result, { score: 0.2, scorer: "slow", fallback: false });
    assert.ok(performance.now() - started >= 300);
    assert.ok(row(host, "slow.ts").busyMs - before >= 300);
  });
});

Deno.test("attack: log injection — plugin output is prefixed, escaped, capped and rate-limited", async () => {
  await withHost({
    files: {
      "liar.ts": scorerSource(
        "liar",
        `{ if (order.total >= 500) console.log("x".repeat(100_000)); return 0.2; }`,
        `console.log("2026-12-06T00:00:00Z consumer: committed offsets\\nconsumer: FORGED second line");
console.error("\\x1b[2J\\x1b[31mred\\x1b[0m\\r\\u202eevil");
for (let i = 0; i < 200; i++) console.error("spam " + i);`,
      ),
    },
  }, async (host, logs) => {
    await new Promise((r) => setTimeout(r, 300)); // the rate limit lets the next line through
    await attack(host, "liar");
    await new Promise((r) => setTimeout(r, 200));
    const mine = logs.filter((l) =>
      l.includes("FORGED") || l.includes("spam") || l.includes("xxx")
    );
    assert.ok(mine.length > 0);
    for (const line of logs) {
      assert.ok(
        // deno-lint-ignore no-control-regex -- control characters are what this looks for
        !/[\x00-\x1f\x7f\u202e]/.test(line),
        `raw control character in ${line.slice(0, 80)}`,
      );
      assert.ok(line.length <= 2048 + 200, `a ${line.length}-char log line`);
    }
    for (const line of mine) assert.ok(line.startsWith("plugin liar: "), line.slice(0, 80));
    assert.ok(logs.some((l) => l === "plugin liar: consumer: FORGED second line"));
    assert.ok(logs.some((l) => l.includes("\\x1b[31mred")));
    assert.ok(mine.filter((l) => l.includes("spam")).length < 60, "the spam was not limited");
    assert.ok(logs.some((l) => /plugin liar: .*lines dropped/.test(l)), "no dropped-lines note");
    await othersAreFine(host);
  });
});

Deno.test("attack: reads via symlink — a link leading outside the plugins dir stops every plugin, no bytes leak", async () => {
  const outside = await Deno.makeTempDir({ prefix: "orderflow-secret-" });
  await Deno.writeTextFile(`${outside}/.env`, "KAFKA_PASSWORD=hunter2-secret\n");
  await Deno.writeTextFile(`${outside}/secret.json`, `{ "password": "hunter2-secret" }`);
  const dir = await tempPluginsDir(true);
  await Deno.mkdir(`${dir}/lib`);
  await Deno.writeTextFile(`${dir}/ok.json`, `{ "fine": 0.2 }`);
  await Deno.symlink(`${outside}/secret.json`, `${dir}/lib/secret.json`);
  await Deno.symlink(`${outside}/.env`, `${dir}/lib/env.ts`);
  await Deno.symlink("../ok.json", `${dir}/lib/ok.json`); // stays inside: allowed
  await Deno.writeTextFile(
    `${dir}/leakjson.ts`,
    `import secret from "./lib/secret.json" with { type: "json" };\n` +
      scorerSource("leakjson", "0.2", "console.error(JSON.stringify(secret));"),
  );
  await Deno.writeTextFile(
    `${dir}/leakenv.ts`,
    `import "./lib/env.ts";\n` + scorerSource("leakenv", "0.2"),
  );
  await Deno.writeTextFile(
    `${dir}/inside.ts`,
    `import ok from "./lib/ok.json" with { type: "json" };\n` + scorerSource("inside", "ok.fine"),
  );
  const logs: string[] = [];
  const host = await ScoringHost.start({
    pluginsDir: dir,
    watch: true,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: (line) => logs.push(line),
  });
  try {
    const results = await host.score([order("leakjson", 600), order("web", 600)]);
    const everything = [...logs, ...host.status().map((s) => s.lastError ?? "")].join("\n");
    assert.ok(!everything.includes("hunter2"), "a secret byte reached the host");
    assert.ok(!everything.includes("KAFKA_PASSWORD"), "a secret byte reached the host");
    for (const result of results) assert.equal(result.scorer, "builtin");
    // Every plugin, the fallback included, is refused and says why; the host still answers.
    for (const r of host.status()) {
      assert.equal(r.state, "failed", r.file);
      assert.equal(r.lastFailure, "load_error");
      assert.ok(
        r.lastError?.includes(`${dir}/lib/secret.json -> ${outside}/secret.json`),
        r.lastError,
      );
      assert.ok(r.lastError?.includes(`${dir}/lib/env.ts -> ${outside}/.env`), r.lastError);
      assert.match(r.lastError ?? "", /replace the link with a copy of the file, or remove it/);
    }
    // Replacing the links with copies (of harmless content) starts everything again.
    await Deno.remove(`${dir}/lib/secret.json`);
    await Deno.remove(`${dir}/lib/env.ts`);
    await Deno.writeTextFile(`${dir}/lib/secret.json`, `{ "password": "copied" }`);
    await Deno.writeTextFile(`${dir}/lib/env.ts`, `export {};`);
    await waitFor(
      () => host.status().every((s) => s.state === "ready"),
      30_000,
      "plugins to start",
    );
    await othersAreFine(host);
    assert.deepEqual((await host.score([order("inside", 600)]))[0], {
      score: 0.2,
      scorer: "inside",
      fallback: false,
    });
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("attack: huge scorer file — refused by size before it is read, the host does not grow", async () => {
  const dir = await tempPluginsDir(true);
  const big = await Deno.open(`${dir}/big.ts`, { create: true, write: true });
  await big.truncate(400 * 1024 * 1024); // sparse: no disk used
  big.close();
  await Deno.writeTextFile(`${dir}/edge.ts`, "//".padEnd(1024 * 1024 + 1, "x"));
  const rssBefore = Deno.memoryUsage().rss;
  const host = await ScoringHost.start({
    pluginsDir: dir,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: () => {},
  });
  try {
    assert.ok(Deno.memoryUsage().rss - rssBefore < 64 * 1048576, "the host's memory grew");
    for (const [file, size] of [["big.ts", 400 * 1024 * 1024], ["edge.ts", 1024 * 1024 + 1]]) {
      const r = row(host, file as string);
      assert.equal(r.state, "failed");
      assert.match(r.lastError ?? "", new RegExp(`it is ${size} bytes, over the limit of 1048576`));
    }
    await othersAreFine(host);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
