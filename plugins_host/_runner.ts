/**
 * Main module of a plugin process (see `sandbox.ts`). Starts the plugin in a worker with no
 * permissions and relays lines: stdin → worker, worker → stdout.
 *
 * The worker is what confines the plugin's imports: a worker's static imports are checked
 * against this process's `--allow-read` (the SDK folder, the plugins directory and the harness),
 * while a main module's own imports are not checked at all. Args: the plugin file URL, its
 * options as JSON, and the resident memory limit in bytes.
 *
 * This thread also watches the process's resident memory, which the heap cap does not bound
 * (ArrayBuffers, WebAssembly memory): it reports it to the host as `{"type":"memory","rss":N}`
 * lines and exits with `RSS_EXIT_CODE` past the limit. (The host cannot read `/proc/<pid>`
 * without `--allow-all`.)
 *
 * @module
 */
import { RSS_CHECK_MS, RSS_EXIT_CODE, RSS_REPORT_EVERY } from "./_limits.ts";

const [pluginUrl = "", options = "{}", rssLimit = "Infinity"] = Deno.args;
const harnessUrl = new URL("./_harness.ts", import.meta.url).href;
// Console output goes to stderr, which the host captures as the plugin's log; stdout carries the
// protocol. Imports are evaluated in order, so the patch runs before the plugin's module. The
// plugin gets no Worker constructor either (nested workers would each get a heap of their own;
// they would still die with this process).
const patch =
  `for (const m of ["log", "info", "debug", "dir", "dirxml", "table"]) console[m] = console.error;
delete globalThis.Worker;`;
const source = `import ${JSON.stringify(`data:text/javascript,${encodeURIComponent(patch)}`)};
import { serve } from ${JSON.stringify(harnessUrl)};
import * as plugin from ${JSON.stringify(pluginUrl)};
serve(plugin, ${JSON.stringify(JSON.parse(options))}, self);`;

const stdout = Deno.stdout.writable.getWriter();
const encoder = new TextEncoder();
let loaded = false;
const worker = new Worker(`data:text/javascript,${encodeURIComponent(source)}`, {
  type: "module",
  deno: { permissions: "none" },
});
worker.onmessage = (event: MessageEvent<string>) => {
  stdout.write(encoder.encode(event.data + "\n"));
  if (!loaded) checkMemory(true); // right after the load reply, so the host knows it at once
  loaded = true;
};
worker.onerror = (event) => {
  event.preventDefault();
  if (loaded) Deno.exit(70);
  // A module that failed to load (unreadable import, syntax error): say why, then stop.
  const message = JSON.stringify({ type: "load_error", message: event.message });
  stdout.write(encoder.encode(message + "\n")).then(() => Deno.exit(70));
};

let checks = 0;
function checkMemory(report: boolean): void {
  const rss = Deno.memoryUsage().rss;
  if (report || rss > Number(rssLimit)) {
    stdout.write(encoder.encode(JSON.stringify({ type: "memory", rss }) + "\n"));
  }
  if (rss > Number(rssLimit)) Deno.exit(RSS_EXIT_CODE);
}
const watchdog = setInterval(() => checkMemory(++checks % RSS_REPORT_EVERY === 0), RSS_CHECK_MS);
Deno.unrefTimer(watchdog);

let buffer = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffer += chunk;
  let newline: number;
  while ((newline = buffer.indexOf("\n")) >= 0) {
    worker.postMessage(buffer.slice(0, newline));
    buffer = buffer.slice(newline + 1);
  }
}
// The host closed stdin: it is done with this plugin.
Deno.exit(0);
