/**
 * Main module of a plugin process (see `sandbox.ts`). Starts the plugin in a worker with no
 * permissions, which reads its calls from stdin and writes its replies to stdout itself (see
 * `serve` in `_harness.ts`); this thread writes only the load reply (or the load error).
 *
 * The worker is what confines the plugin's imports: a worker's static imports are checked
 * against this process's `--allow-read` (the SDK folder, the plugins directory and the harness),
 * while a main module's own imports are not checked at all. Args: the plugin file URL, its
 * options as JSON, and the resident memory limit in bytes.
 *
 * This thread also ends the process when its parent is gone (the host died, even by SIGKILL):
 * the plugin can keep its worker from ever seeing stdin end, but it cannot reach this thread, which
 * checks its parent pid with every memory check. It also watches the process's resident memory,
 * which the heap cap does not bound (ArrayBuffers, WebAssembly memory): it exits with
 * `RSS_EXIT_CODE` past the limit, and reports it as `{"type":"memory","rss":N}` lines, which it
 * hands to the worker to write between replies (two writers of one pipe could interleave a report
 * into a long reply). (The host cannot read `/proc/<pid>` without `--allow-all`.)
 *
 * @module
 */
import { RSS_CHECK_MS, RSS_EXIT_CODE, RSS_REPORT_EVERY } from "./_limits.ts";

const [pluginUrl = "", options = "{}", rssLimit = "Infinity"] = Deno.args;
const harnessUrl = new URL("./_harness.ts", import.meta.url).href;
// Console output goes to stderr, which the host captures as the plugin's log; stdout carries the
// protocol. Imports are evaluated in order, so the patch runs before the plugin's module. The
// plugin gets no Worker constructor either (nested workers would each get a heap of their own;
// they would still die with this process), and its postMessage writes to stdout (`confine`).
const patch = `import { confine } from ${JSON.stringify(harnessUrl)};
for (const m of ["log", "info", "debug", "dir", "dirxml", "table"]) console[m] = console.error;
delete globalThis.Worker;
export const toRelay = confine(self);`;
const source = `import { toRelay } from ${
  JSON.stringify(`data:text/javascript,${encodeURIComponent(patch)}`)
};
import { serve } from ${JSON.stringify(harnessUrl)};
import * as plugin from ${JSON.stringify(pluginUrl)};
serve(plugin, ${JSON.stringify(JSON.parse(options))}, self, toRelay);`;

const stdout = Deno.stdout.writable.getWriter();
const encoder = new TextEncoder();
let loaded = false;
const worker = new Worker(`data:text/javascript,${encodeURIComponent(source)}`, {
  type: "module",
  deno: { permissions: "none" },
});
// The first message is the load reply; later, only `0` (stdin ended: the host is done with this
// plugin) means anything. Everything else the plugin writes reaches stdout without this thread.
worker.onmessage = (event: MessageEvent<unknown>) => {
  if (event.data === 0) Deno.exit(0);
  if (loaded) return;
  loaded = true;
  // The memory report right after the load reply, so the host knows it at once.
  stdout.write(encoder.encode(event.data + "\n")).then(() => checkMemory(true));
};
worker.onerror = (event) => {
  event.preventDefault();
  if (loaded) Deno.exit(70);
  // A module that failed to load (unreadable import, syntax error): say why, then stop.
  const message = JSON.stringify({ type: "load_error", message: event.message });
  stdout.write(encoder.encode(message + "\n")).then(() => Deno.exit(70));
};

let checks = 0;
const parent = Deno.ppid;
function checkMemory(report: boolean): void {
  if (Deno.ppid !== parent) Deno.exit(0); // orphaned: reparented to init or a subreaper
  const rss = Deno.memoryUsage().rss;
  if (rss > Number(rssLimit)) Deno.exit(RSS_EXIT_CODE);
  if (report) worker.postMessage(JSON.stringify({ type: "memory", rss }));
}
const watchdog = setInterval(() => checkMemory(++checks % RSS_REPORT_EVERY === 0), RSS_CHECK_MS);
Deno.unrefTimer(watchdog);
