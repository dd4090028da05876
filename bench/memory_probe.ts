/**
 * Memory probe: the consumer's process-tree RSS while it drains a backlog, and idle.
 *
 *   deno run -P=bench bench/memory_probe.ts [--records 1000000] [--layout per-order|batched]
 *       [--topic NAME] [--keep-topic] [--v8-flags FLAGS] [--env K=V]... [--breakdown]
 *       [--idle-seconds 15] [--after-seconds 10] [--seconds 900] [--interval 250]
 *       [--label TEXT] [--out FILE.jsonl]
 *
 * 1. Orders: produces `--records` orders (seed 1) to a fresh 6-partition topic, or reuses
 *    `--topic` (which must hold at least that many; a fresh consumer group reads it each time, so
 *    one topic serves many runs: `--keep-topic` keeps the topic it made and prints its name).
 * 2. Idle: starts the consumer with `--from-latest` on a fresh group (nothing to consume) and
 *    samples for `--idle-seconds`; idle RSS is the peak over the second half of that window.
 * 3. Drain: starts the consumer on another fresh group (default: from the earliest offset), with
 *    default settings, until it has stored `--records` orders, then samples `--after-seconds`
 *    more (RSS after the drain, with nothing left to do).
 *
 * The consumer runs as the `consume` task line in deno.json runs it (its `deno run` flags, minus
 * `--env-file`), with the broker, topic, group and a fresh `SINK_DIR` under `data/` set in its
 * environment; `--v8-flags` replaces the task's V8 flags (`--v8-flags ""` drops them), `--env`
 * adds variables (e.g. `--env SINK_LAYOUT=batched`). RSS is the sum over the consumer's whole
 * process tree (plugin subprocesses included) from `ps -e -o pid=,ppid=,rss=`, every
 * `--interval` ms (Deno needs --allow-all to read /proc itself). Throughput is stored orders over
 * the seconds from the first stored order to the last, read from the consumer's 1 s summary line.
 * `--breakdown` preloads `bench/_memory_preload.ts` into the consumer: `Deno.memoryUsage()` of
 * the main isolate every second (V8 heap total/used, external buffers).
 *
 * Prints a JSON result on stdout (and appends it to `--out`). Needs `deno task up`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { quantile, treeRssKb } from "./_report.ts";
import {
  consumerEnv,
  createTopics,
  deleteTopics,
  prefill,
  sleep,
  spawnConsumer,
} from "./_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    records: { type: "string", default: "1000000" },
    layout: { type: "string", default: "per-order" },
    topic: { type: "string" },
    "keep-topic": { type: "boolean", default: false },
    "v8-flags": { type: "string" },
    env: { type: "string", multiple: true, default: [] },
    breakdown: { type: "boolean", default: false },
    "idle-seconds": { type: "string", default: "15" },
    "after-seconds": { type: "string", default: "10" },
    seconds: { type: "string", default: "900" },
    interval: { type: "string", default: "250" },
    label: { type: "string", default: "" },
    out: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`deno task bench:memory — the consumer's process-tree RSS while it drains a backlog

Usage: deno task bench:memory [--records 1000000] [--layout per-order|batched] [--topic NAME]
         [--keep-topic] [--v8-flags FLAGS] [--env K=V]... [--breakdown] [--idle-seconds 15]
         [--after-seconds 10] [--seconds 900] [--interval 250] [--label TEXT] [--out FILE.jsonl]

  --records N        orders to produce (seed 1) and drain (default 1000000)
  --layout L         SINK_LAYOUT of the consumer (default per-order; local disk under data/)
  --topic NAME       reuse a topic holding at least N orders instead of producing to a new one
  --keep-topic       keep the topic this run made (its name is printed) for --topic
  --v8-flags FLAGS   replace the consume task's V8 flags ("" = none)
  --env K=V          extra consumer environment, e.g. CONSUMER_FETCH_MAX_BYTES=10MiB
  --breakdown        also report the main isolate's V8 heap and external bytes
  --idle-seconds S   idle phase first (--from-latest, nothing to consume; 0 = skip)
  --out FILE         append the JSON result to FILE

The consumer runs as the consume task in deno.json runs it. Prints one JSON result: peak, p95 and
p50 RSS of the whole process tree during the drain (sampled every --interval ms), idle RSS, RSS
after the drain, orders/s. Needs deno task up.`);
  Deno.exit(0);
}

const MiB = 1024 * 1024;
const records = Number(values.records);
const interval = Number(values.interval);

/** The `deno run` flags of the `consume` task, without `--env-file`, V8 flags replaced. */
async function consumeFlags(): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile("deno.json")).tasks as Record<string, string>;
  const words = (tasks["consume"] ?? "deno run -P=consume consumer/main.ts").split(/\s+/);
  const flags = words.slice(2, words.indexOf("consumer/main.ts"))
    .filter((w) => !w.startsWith("--env-file"));
  if (values["v8-flags"] === undefined) return flags;
  const kept = flags.filter((w) => !w.startsWith("--v8-flags"));
  return values["v8-flags"] === "" ? kept : [...kept, `--v8-flags=${values["v8-flags"]}`];
}

interface Sample {
  readonly at: number;
  readonly stored: number;
  readonly mib: number;
  readonly processes: number;
}

interface Breakdown {
  readonly at: number;
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
}

interface Phase {
  readonly samples: Sample[];
  readonly breakdown: Breakdown[];
  readonly firstStoredAt: number | undefined;
  readonly doneAt: number | undefined;
  readonly stored: number;
}

/** Runs the consumer until `until` says stop; samples its tree RSS every `interval` ms. */
async function runConsumer(
  env: Record<string, string>,
  extraArgs: string[],
  until: (stored: number, elapsed: number, doneAt: number | undefined) => boolean,
): Promise<Phase> {
  const flags = await consumeFlags();
  if (values.breakdown) flags.push("--preload", "bench/_memory_preload.ts");
  const started = performance.now();
  const since = () => (performance.now() - started) / 1000;
  let stored = 0;
  let firstStoredAt: number | undefined;
  let doneAt: number | undefined;
  const breakdown: Breakdown[] = [];
  const tail: string[] = [];
  const child = spawnConsumer({
    flags,
    args: ["--summary-interval", "1000", ...extraArgs],
    env,
    onLine: (line) => {
      if (line.startsWith("memory-probe ")) {
        const m = JSON.parse(line.slice("memory-probe ".length));
        breakdown.push({ ...m, at: since() });
        return;
      }
      tail.push(line);
      if (tail.length > 20) tail.shift();
      const m = /stored=(\d+)/.exec(line);
      if (m === null) return;
      stored = Number(m[1]);
      if (stored > 0 && firstStoredAt === undefined) firstStoredAt = since();
      if (stored >= records && doneAt === undefined) doneAt = since();
    },
  });
  const samples: Sample[] = [];
  const limit = Number(values.seconds);
  while (since() < limit && !until(stored, since(), doneAt)) {
    const next = started + (samples.length + 1) * interval;
    await sleep(Math.max(0, next - performance.now()));
    const { kb, processes } = await treeRssKb(child.pid);
    if (processes === 0) break; // exited
    samples.push({ at: since(), stored, mib: kb / 1024, processes });
  }
  const status = await child.stop();
  if (samples.length === 0 || (status.code !== 0 && status.code !== 143)) {
    console.error(`memory-probe: consumer exited ${status.code}; last lines:\n${tail.join("\n")}`);
  }
  return { samples, breakdown, firstStoredAt, doneAt, stored };
}

const round = (x: number | undefined) => x === undefined ? undefined : Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const suffix = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
  const made = values.topic === undefined;
  const topic = values.topic ?? `bench-memory-${suffix}`;
  const dir = `./data/bench/memory-${suffix}`;
  const extraEnv = Object.fromEntries(values.env.map((kv) => {
    const i = kv.indexOf("=");
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  const env = (group: string) =>
    consumerEnv(topic, group, dir, { SINK_LAYOUT: values.layout, ...extraEnv });
  try {
    if (made) {
      await createTopics(topic);
      console.error(`memory-probe: producing ${records} orders to ${topic}`);
      const acked = await prefill(topic, records, 1, env("unused"));
      if (acked < records) throw new Error(`produced ${acked}`);
    }

    const idleSeconds = Number(values["idle-seconds"]);
    let idle: { peak: number; mean: number } | undefined;
    if (idleSeconds > 0) {
      console.error(`memory-probe: idle consumer (--from-latest) for ${idleSeconds} s`);
      const phase = await runConsumer(
        env(`${topic}-idle-${suffix}`),
        ["--from-latest"],
        (_, elapsed) => elapsed >= idleSeconds,
      );
      const late = phase.samples.filter((s) => s.at >= idleSeconds / 2).map((s) => s.mib);
      idle = { peak: Math.max(...late), mean: late.reduce((a, x) => a + x, 0) / late.length };
    }

    const after = Number(values["after-seconds"]);
    console.error(`memory-probe: draining ${records} orders (${values.layout})`);
    const drain = await runConsumer(
      env(`${topic}-drain-${suffix}`),
      [],
      (_, elapsed, doneAt) => doneAt !== undefined && elapsed >= doneAt + after,
    );
    const during = drain.samples.filter((s) => drain.doneAt === undefined || s.at <= drain.doneAt)
      .map((s) => s.mib);
    const afterDrain = drain.samples.filter((s) =>
      drain.doneAt !== undefined && s.at > drain.doneAt
    )
      .map((s) => s.mib);
    const drainSeconds = drain.doneAt !== undefined && drain.firstStoredAt !== undefined
      ? drain.doneAt - drain.firstStoredAt
      : undefined;
    const peakSample = drain.samples.reduce((a, s) => (s.mib > a.mib ? s : a), drain.samples[0]!);
    const near = drain.breakdown.reduce<Breakdown | undefined>(
      (a, b) =>
        a === undefined || Math.abs(b.at - peakSample.at) < Math.abs(a.at - peakSample.at) ? b : a,
      undefined,
    );
    const maxOf = (k: keyof Breakdown) =>
      drain.breakdown.length === 0
        ? undefined
        : Math.max(...drain.breakdown.map((b) => b[k])) / MiB;
    const result = {
      label: values.label,
      at: new Date().toISOString(),
      loadavg: Deno.loadavg().map((l) => l.toFixed(2)).join(" "),
      layout: values.layout,
      flags: await consumeFlags(),
      env: extraEnv,
      records,
      stored: drain.stored,
      complete: drain.doneAt !== undefined,
      idlePeakMiB: round(idle?.peak),
      idleMeanMiB: round(idle?.mean),
      peakMiB: round(Math.max(...during)),
      p95MiB: round(quantile(during, 0.95)),
      p50MiB: round(quantile(during, 0.5)),
      afterDrainMiB: round(afterDrain.length === 0 ? undefined : Math.max(...afterDrain)),
      processes: Math.max(...drain.samples.map((s) => s.processes)),
      drainSeconds: round(drainSeconds),
      ordersPerSecond: drainSeconds === undefined ? undefined : Math.round(records / drainSeconds),
      samples: drain.samples.length,
      ...(drain.breakdown.length === 0 ? {} : {
        mainAtPeak: near === undefined ? undefined : {
          rssMiB: round(near.rss / MiB),
          heapTotalMiB: round(near.heapTotal / MiB),
          heapUsedMiB: round(near.heapUsed / MiB),
          externalMiB: round(near.external / MiB),
        },
        mainMax: {
          rssMiB: round(maxOf("rss")),
          heapTotalMiB: round(maxOf("heapTotal")),
          heapUsedMiB: round(maxOf("heapUsed")),
          externalMiB: round(maxOf("external")),
        },
      }),
      timeline: drain.samples.filter((_, i) => i % Math.max(1, Math.floor(4000 / interval)) === 0)
        .map((s) => [Math.round(s.at), s.stored, Math.round(s.mib)]),
    };
    const line = JSON.stringify(result);
    console.log(line);
    if (values.out !== undefined) {
      await Deno.writeTextFile(values.out, line + "\n", { append: true });
    }
  } finally {
    if (made && !values["keep-topic"]) {
      await deleteTopics(topic).catch(() => undefined);
    } else if (made) {
      console.error(`memory-probe: kept topic ${topic} (pass --topic ${topic} to reuse it)`);
    }
    console.error(`memory-probe: removing ${dir}`);
    await new Deno.Command("rm", { args: ["-rf", dir] }).output().catch(() => undefined);
  }
}

if (import.meta.main) await main();
