/**
 * Preloaded into the consumer by `bench/memory_probe.ts --breakdown` (`deno run --preload`):
 * prints `memory-probe {...}` with `Deno.memoryUsage()` (rss, V8 heap total/used, external) to
 * stderr every second. The timer is unref'ed: it never keeps the process alive.
 *
 * @module
 */
const encoder = new TextEncoder();
const timer = setInterval(() => {
  const m = Deno.memoryUsage();
  const line = `memory-probe ${
    JSON.stringify({
      t: Date.now(),
      rss: m.rss,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
    })
  }\n`;
  Deno.stderr.writeSync(encoder.encode(line));
}, 1000);
Deno.unrefTimer(timer);
