/**
 * Ctrl-C in a terminal sends SIGINT to the whole foreground process group. The plugin processes
 * must not get it: the consumer and the producer drain on SIGINT and score what is in flight,
 * which needs their plugins alive (else those orders get the fallback, and with
 * `produce --hold-above` below 0.5 the built-in 0.5 would hold them).
 */
import assert from "node:assert/strict";
import { tempPluginsDir } from "../plugins_host/_testing.ts";

const HOST = new URL("../plugins_host/host.ts", import.meta.url).href;
const TESTING = new URL("../plugins_host/_testing.ts", import.meta.url).href;

Deno.test("SIGINT to the host's process group leaves its plugins running, so a drain still scores", async () => {
  const dir = await tempPluginsDir(true);
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    `import { ScoringHost } from ${JSON.stringify(HOST)};
import { order } from ${JSON.stringify(TESTING)};
const host = await ScoringHost.start({ pluginsDir: ${JSON.stringify(dir)}, log: () => {} });
Deno.addSignalListener("SIGINT", async () => {
  await new Promise((r) => setTimeout(r, 300)); // as a drain would: score after the signal
  const [r] = await host.score([order("web", 100)]);
  const failures = host.metrics().failures.map((f) => f.scorer + ":" + f.reason);
  const restarts = host.status().reduce((n, s) => n + s.restarts, 0);
  console.log(JSON.stringify({ ...r, failures, restarts }));
  await host.close();
  Deno.exit(0);
});
console.log("ready");
`,
  );
  // Its own process group, as a terminal gives a foreground job.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", script],
    stdout: "piped",
    stderr: "inherit",
    detached: true,
  }).spawn();
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("ready\n")) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    assert.match(out, /ready/);
    Deno.kill(-child.pid, "SIGINT"); // the whole group, like Ctrl-C
    for (;;) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    const result = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.deepEqual(result, {
      score: 0.1,
      scorer: "web",
      fallback: false,
      failures: [],
      restarts: 0,
    });
    assert.equal((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await Deno.remove(script);
    await Deno.remove(dir, { recursive: true });
  }
});
