import assert from "node:assert/strict";
import { DENO_COMMAND, sandboxArgs, SandboxedPlugin } from "./sandbox.ts";
import { LOAD_TIMEOUT_MS, order, REAL_PLUGINS_DIR, scorerSource } from "./_testing.ts";

Deno.test("sandboxArgs() grants reads of the plugins dir, sdk/ and the harness only, nothing else", () => {
  const args = sandboxArgs({
    file: "/srv/plugins/web.ts",
    pluginsDir: "/srv/plugins",
    options: { scale: 5 },
    limits: { memoryMb: 48, deadlineMs: 250 },
  });
  const flags = args.filter((a) => a.startsWith("--"));
  const here = new URL(".", import.meta.url).pathname;
  const sdk = new URL("../sdk/", import.meta.url).pathname;
  assert.deepEqual(
    flags.find((f) => f.startsWith("--allow-read="))?.slice("--allow-read=".length).split(","),
    ["/srv/plugins", sdk, `${here}_harness.ts`, `${here}_limits.ts`],
  );
  assert.deepEqual(flags.filter((f) => f.startsWith("--allow-")).length, 1, "one grant only");
  for (const required of ["--no-config", "--no-lock", "--no-remote", "--no-npm", "--no-prompt"]) {
    assert.ok(flags.includes(required), required);
  }
  for (const kind of ["net", "env", "run", "write", "ffi", "sys", "import"]) {
    assert.ok(flags.includes(`--deny-${kind}`), `--deny-${kind}`);
  }
  assert.ok(flags.includes("--v8-flags=--max-old-space-size=48"));
  assert.deepEqual(args.slice(-3, -1), ["file:///srv/plugins/web.ts", '{"scale":5}']);
});

const WEB = { file: `${REAL_PLUGINS_DIR}web.ts`, pluginsDir: REAL_PLUGINS_DIR.replace(/\/$/, "") };

Deno.test("a plugin process answers calls in order, also a call longer than one read of stdin", async () => {
  const plugin = await SandboxedPlugin.launch({
    ...WEB,
    options: {},
    limits: { memoryMb: 64, deadlineMs: 10_000 },
    label: "web",
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: () => {},
    onDeath: () => {},
  });
  try {
    // ~6000 orders are ~600 KB of JSON: the worker reads the line in several pieces.
    const big = Array.from({ length: 6000 }, (_, i) => order("web", i % 900, `o-${i}`));
    const calls = [[order("web", 100)], big, [order("web", 200), order("web", 300)]];
    const replies = await Promise.all(calls.map((orders) => plugin.score(orders, 30_000)));
    assert.deepEqual(replies[0]!.scores, [0.1]);
    assert.deepEqual(replies[1]!.scores, big.map((o) => o.total / 1000));
    assert.deepEqual(replies[2]!.scores, [0.2, 0.3]);
    assert.ok(replies.every((r) => r.errors.length === 0));
  } finally {
    await plugin.close();
  }
});

Deno.test("a plugin process ends by itself when its stdin closes (the host is gone)", async () => {
  const child = new Deno.Command(DENO_COMMAND, {
    args: sandboxArgs({ ...WEB, options: {}, limits: { memoryMb: 64, deadlineMs: 250 } }),
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) out += (await lines.read()).value ?? "";
  assert.match(out, /^\{"type":"loaded"/);
  await child.stdin.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const status = await child.status;
  clearTimeout(timer);
  await lines.cancel();
  assert.equal(status.code, 0);
});

/** Starts `<dir>/<name>.ts` as a plugin process with a 64 MiB heap and `deadlineMs`. */
function launchIn(dir: string, name: string, deadlineMs: number): Promise<SandboxedPlugin> {
  return SandboxedPlugin.launch({
    file: `${dir}/${name}.ts`,
    pluginsDir: dir,
    options: {},
    limits: { memoryMb: 64, deadlineMs },
    label: name,
    loadTimeoutMs: LOAD_TIMEOUT_MS,
    log: () => {},
    onDeath: () => {},
  });
}

/** Whether process `pid` still runs (a zombie counts as ended; /proc of another process needs
 * --allow-all in Deno, `ps` does not). */
async function alive(pid: number): Promise<boolean> {
  const { stdout } = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] })
    .output();
  const state = new TextDecoder().decode(stdout).trim();
  return state !== "" && !state.startsWith("Z");
}

Deno.test("a plugin process ends when its host dies, even while its stdin stays open", async () => {
  // The host is a shell killed by SIGKILL; the plugin's stdin is this test's pipe, which stays
  // open, as when a plugin keeps its worker from ever seeing stdin end.
  const host = new Deno.Command("bash", {
    args: [
      "-c",
      `"$0" "$@" <&0 & echo "pid $!"; wait`,
      DENO_COMMAND,
      ...sandboxArgs({ ...WEB, options: {}, limits: { memoryMb: 64, deadlineMs: 250 } }),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = host.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes('{"type":"loaded"')) out += (await lines.read()).value ?? "";
  const pid = Number(/pid (\d+)/.exec(out)?.[1]);
  console.log(JSON.stringify(out), pid);
  try {
    assert.ok(await alive(pid), "the plugin process runs");
    host.kill("SIGKILL");
    await host.status;
    const deadline = Date.now() + 3000;
    while (await alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await alive(pid), false, "the plugin process outlived its host");
  } finally {
    if (await alive(pid)) Deno.kill(pid, "SIGKILL");
    await lines.cancel();
    await host.stdin.close();
  }
});

Deno.test("calls made while a plugin is busy go out merged, and each gets its own scores and errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orderflow-merge-" });
  await Deno.writeTextFile(
    `${dir}/odd.ts`,
    scorerSource(
      "odd",
      `{ if (order.total % 7 === 3) throw new Error("seven"); return order.total / 1000; }`,
    ),
  );
  const plugin = await launchIn(dir, "odd", 10_000);
  try {
    // 30 calls at once: two are written, the other 28 wait and go out merged.
    const calls = Array.from(
      { length: 30 },
      (_, c) => Array.from({ length: c + 1 }, (_, i) => order("odd", 10 * c + i)),
    );
    const replies = await Promise.all(calls.map((orders) => plugin.score(orders)));
    replies.forEach((reply, c) => {
      const totals = calls[c]!.map((o) => o.total);
      assert.deepEqual(reply.scores, totals.map((t) => t % 7 === 3 ? null : t / 1000));
      assert.deepEqual(
        reply.errors.map(([index, reason]) => [index, reason]),
        totals.flatMap((t, i) => t % 7 === 3 ? [[i, "threw"]] : []),
      );
    });
  } finally {
    await plugin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a call's deadline counts from its own start, not from a write queued behind another", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orderflow-deadline-" });
  await Deno.writeTextFile(
    `${dir}/slow.ts`,
    scorerSource("slow", `{ const t = Date.now(); while (Date.now() - t < 150); return 0.1; }`),
  );
  const plugin = await launchIn(dir, "slow", 250);
  try {
    // Both calls are written at once; the second starts when the first is answered (~150 ms),
    // so each takes 150 ms of its own 250 ms, though the second ends ~300 ms after its write.
    const replies = await Promise.all([1, 2].map((t) => plugin.score([order("slow", t)])));
    assert.deepEqual(replies.map((r) => r.scores), [[0.1], [0.1]]);
    assert.ok(plugin.alive);
  } finally {
    await plugin.close();
    await Deno.remove(dir, { recursive: true });
  }
});
