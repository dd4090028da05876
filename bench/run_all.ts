/**
 * `deno task bench`: every benchmark in one run; the only writer of published figures.
 *
 * Rule: every figure in the README's benchmark table and in `bench/*.md` (except the
 * hand-written `*_notes.md`) comes from one run of this script. A published run (the default
 * `--out-dir bench`) writes `bench/producer.md`, `bench/scoring.md`, `bench/consumer.md` (+ the
 * COS curve CSV), `bench/RESULTS.md`, and the README's table between `<!-- bench:begin -->` and
 * `<!-- bench:end -->`; `tests/bench_results_test.ts` checks the README against RESULTS.md. Each
 * bench gets the run's stamp (`BENCH_RUN`) and prints it, so a file from another run shows.
 * `--quick` and `--only` are for smoke runs: they write to `data/bench/run-<stamp>/` and leave
 * bench/ and the README alone, unless `--out-dir bench` is given with `--quick` (a published
 * quick run is labelled as such in every row's table; `--only` never publishes: a published
 * run has every section).
 *
 * Sections:
 * - producer, consumer: `bench/producer_bench.ts`, `bench/consumer_bench.ts` (rows in the shared
 *   format of `bench/_report.ts`);
 * - scoring: `bench/scoring_bench.ts` (its own format; its rows join the summary once it writes a
 *   rows block, until then one row points to it);
 * - memory: the consumer process (`consumer/main.ts`, default settings, local sink) with RSS
 *   summed over its process tree (plugin sandboxes that are subprocesses count): idle on an
 *   empty topic, then peak and p95 while draining a prefilled backlog.
 *
 *   deno task bench [--quick] [--only producer,scoring,consumer,memory] [--out-dir DIR]
 *
 * Needs `deno task up` (local broker and S3 server). Takes about 15 minutes at full size,
 * about 3 at `--quick`.
 *
 * @module
 */
import { consumeV8Flags } from "../tools/consume_flags.ts";
import { parseArgs } from "node:util";
import {
  between,
  type Load,
  loadNow,
  loadSpan,
  quantile,
  type Row,
  ROWS_BEGIN,
  ROWS_END,
  rowsTable,
  SUMMARY_BEGIN,
  SUMMARY_END,
  treeRssKb,
  verdict,
} from "./_report.ts";
import { command, consumerEnv, prefill, sleep, spawnConsumer, withTopics } from "./_harness.ts";

const SECTIONS = ["producer", "scoring", "consumer", "memory"] as const;

/** Arguments of each bench at each size. Full: the published sizes; quick: a smoke run. */
const SIZES = {
  full: {
    producer: ["--records", "200000", "--rounds", "2"],
    scoring: [] as string[],
    consumer: [] as string[],
    memory: { records: 1_000_000, seconds: 600, idleSeconds: 20 },
  },
  quick: {
    producer: ["--records", "20000", "--rounds", "1"],
    scoring: ["--orders", "10000", "--repeat", "1"],
    consumer: [
      "--records",
      "5000",
      "--files",
      "1000",
      "--objects",
      "200",
      "--seconds",
      "6",
      "--warmup",
      "2",
      "--slot",
      "2",
      "--cos-orders",
      "200",
    ],
    memory: { records: 20_000, seconds: 120, idleSeconds: 5 },
  },
};

/** Issue 18's memory targets, MiB. */
const MEMORY_PEAK_TARGET = 300;
const MEMORY_IDLE_TARGET = 120;

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: SECTIONS.join(",") },
    "out-dir": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`deno task bench — every benchmark beside its baseline, in one run

Usage: deno task bench [--quick] [--only producer,scoring,consumer,memory] [--out-dir DIR]

  (no flags)     full size, all sections; writes bench/*.md, bench/RESULTS.md and the README's
                 benchmark table (about 15 minutes)
  --quick        smoke-run sizes (about 3 minutes); writes data/bench/run-<stamp>/ unless
                 --out-dir bench is given (then the published table says "quick")
  --only LIST    some sections only (never published); writes data/bench/run-<stamp>/
  --out-dir DIR  where to write; "bench" publishes

Needs the local broker and S3 server (deno task up).`);
  Deno.exit(0);
}
const only = new Set(values.only.split(","));
for (const s of only) {
  if (!(SECTIONS as readonly string[]).includes(s)) {
    console.error(`bench: --only: unknown section "${s}" (${SECTIONS.join(", ")})`);
    Deno.exit(2);
  }
}
const partial = SECTIONS.some((s) => !only.has(s));
const started = new Date();
const stampId = started.toISOString().replace(/[:.]/g, "-");
const outDir =
  (values["out-dir"] ?? (values.quick || partial ? `data/bench/run-${stampId}` : "bench"))
    .replace(/\/$/, "");
const publish = outDir === "bench";
if (publish && partial) {
  console.error("bench: a published run (--out-dir bench) has every section; drop --only");
  Deno.exit(2);
}
const size = values.quick ? "quick" : "full";
const sizes = SIZES[size];
/** Printed by every bench this run starts, so each file names the run it comes from. */
const stamp = `deno task bench run ${started.toISOString()}${
  values.quick ? " (quick size: a smoke run, not a measurement)" : ""
}`;

async function capture(cmd: string, args: string[]): Promise<string> {
  try {
    const r = await command(cmd, args);
    return (r.out + r.err).trim();
  } catch (error) {
    return `unavailable (${(error as Error).message})`;
  }
}

async function machine(): Promise<Record<string, string>> {
  // Deno wants --allow-all to read /proc files: ask cat
  const cpuinfo = await capture("cat", ["/proc/cpuinfo"]);
  const meminfo = await capture("cat", ["/proc/meminfo"]);
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? NaN);
  const java = (await capture("java", ["-version"])).split("\n")[0] ?? "?";
  const kafkaJar = [...Deno.readDirSync("dev/.cache/kafka-libs")].map((e) => e.name)
    .find((n) => /^kafka_2\.13-.*\.jar$/.test(n));
  return {
    nproc: String(navigator.hardwareConcurrency),
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? "?",
    deno: Deno.version.deno,
    java,
    kafka: kafkaJar?.replace(/^kafka_2\.13-|\.jar$/g, "") ?? "?",
  };
}

/** Runs `deno task <name> <args>` with the run stamp; stdout echoed to stderr. */
async function task(
  name: string,
  args: string[],
): Promise<{ code: number; seconds: number; load: string }> {
  const t = performance.now();
  const before = await loadNow();
  console.error(`bench: deno task ${name} ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", name, ...args],
    env: { BENCH_RUN: stamp },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  for await (const chunk of child.stdout) await Deno.stderr.write(chunk);
  const status = await child.status;
  return {
    code: status.code,
    seconds: (performance.now() - t) / 1000,
    load: loadSpan(before, await loadNow()),
  };
}

interface MemoryResult {
  readonly records: number;
  readonly produced: number;
  readonly reached: number;
  readonly seconds: number;
  readonly idle: readonly number[];
  readonly idleLoad: string;
  readonly samples: readonly { stored: number; rssMb: number; processes: number; at: number }[];
  readonly drainLoad: string;
  readonly note: string;
}

/** The consumer process (default settings, `env`'s topic and sink); its stored= count, parsed. */
function startConsumer(env: Record<string, string>) {
  const state = { stored: 0 };
  const child = spawnConsumer({
    flags: ["-P=consume", ...consumeV8Flags()],
    args: ["--summary-interval", "1000"],
    env,
    onLine: (line) => {
      const m = /stored=(\d+)/.exec(line);
      if (m !== null) state.stored = Number(m[1]);
    },
  });
  return { child, state };
}

async function memoryBench(
  records: number,
  seconds: number,
  idleSeconds: number,
): Promise<MemoryResult> {
  const suffix = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
  const topic = `bench-memory-${suffix}`;
  const dir = `./data/bench/memory-${suffix}`;
  // Default settings except where the bench must point: broker, topics, group, local store.
  const env = consumerEnv(topic, `${topic}-group`, dir);
  return await withTopics(topic, async () => {
    // Idle: the consumer on the empty topic; samples after a 5 s start-up allowance.
    console.error(`bench: memory: idle consumer for ${idleSeconds} s`);
    const idleBefore = await loadNow();
    const idler = startConsumer(env);
    await sleep(5_000);
    const idle: number[] = [];
    for (let i = 0; i < idleSeconds; i++) {
      await sleep(1000);
      idle.push((await treeRssKb(idler.child.pid)).kb / 1024);
    }
    await idler.child.stop();
    const idleLoad = loadSpan(idleBefore, await loadNow());

    console.error(`bench: memory: producing ${records} orders to ${topic}`);
    const produced = await prefill(topic, records, 1, env);

    console.error(`bench: memory: draining the backlog for at most ${seconds} s`);
    const drainBefore: Load = await loadNow();
    const consumer = startConsumer(env);
    const t = performance.now();
    const samples: { stored: number; rssMb: number; processes: number; at: number }[] = [];
    while (performance.now() - t < seconds * 1000 && consumer.state.stored < produced) {
      await sleep(1000);
      const rss = await treeRssKb(consumer.child.pid);
      samples.push({
        stored: consumer.state.stored,
        rssMb: rss.kb / 1024,
        processes: rss.processes,
        at: (performance.now() - t) / 1000,
      });
    }
    const elapsed = (performance.now() - t) / 1000;
    await consumer.child.stop();
    return {
      records,
      produced,
      reached: consumer.state.stored,
      seconds: elapsed,
      idle,
      idleLoad,
      samples,
      drainLoad: loadSpan(drainBefore, await loadNow()),
      note: consumer.state.stored >= produced ? "all stored" : `stopped at the ${seconds} s limit`,
    };
  }).finally(async () => {
    console.error(`bench: memory: removing ${dir}`);
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  });
}

function memoryRows(m: MemoryResult): Row[] {
  const rss = m.samples.map((s) => s.rssMb);
  const peak = rss.length > 0 ? Math.max(...rss) : NaN;
  const p95 = quantile(rss, 0.95);
  const idle = m.idle.length > 0 ? Math.max(...m.idle) : NaN;
  const maxProcesses = Math.max(0, ...m.samples.map((s) => s.processes));
  // The target is for a 1M backlog: a smaller run (--quick, or the time limit) gives no verdict.
  const short = m.reached < 1_000_000 ? `not measured (a backlog of ${m.reached}, not 1M)` : "";
  const drain = `the consumer process (consumer/main.ts, default settings, local sink) draining ` +
    `a prefilled backlog of ${m.produced} orders (${m.reached} stored in ${
      m.seconds.toFixed(0)
    } s, ${m.note}); RSS summed over its process tree (${maxProcesses} process(es) at most), ` +
    `sampled every second`;
  // A row with no baseline: the figure in MiB against an upper bound (issue 18).
  const row = (
    id: string,
    measures: string,
    [mib, digits]: [number, number],
    target: number,
    short: string,
    load: string,
  ): Row => ({
    id,
    measures,
    figure: `${mib.toFixed(digits)} MiB`,
    baseline: "-",
    ratio: "-",
    target: `≤ ${target} MiB (issue 18)`,
    verdict: short === "" ? verdict(mib, target, false) : short,
    load,
  });
  return [
    row("memory, peak", `peak RSS of ${drain}`, [peak, 0], MEMORY_PEAK_TARGET, short, m.drainLoad),
    row(
      "memory, p95",
      `p95 of the RSS samples of ${drain}`,
      [p95, 0],
      MEMORY_PEAK_TARGET,
      short,
      m.drainLoad,
    ),
    row(
      "memory, idle",
      `highest RSS (process tree) of the consumer on an empty topic, ` +
        `${m.idle.length} samples from 5 s after its start`,
      [idle, 1],
      MEMORY_IDLE_TARGET,
      "",
      m.idleLoad,
    ),
  ];
}

function memorySection(m: MemoryResult): string {
  const every = Math.max(1, Math.floor(m.samples.length / 15));
  return [
    "## memory",
    "",
    `Idle: ${m.idle.map((x) => x.toFixed(1)).join(", ")} MiB. Draining: RSS of the process ` +
    "tree during the drain (every sample's figure is the sum over the consumer and its " +
    "descendants):",
    "",
    "| seconds | stored | RSS MiB | processes |",
    "|---|---|---|---|",
    ...m.samples.filter((_, i) => i % every === 0 || i === m.samples.length - 1)
      .map((s) => `| ${s.at.toFixed(0)} | ${s.stored} | ${s.rssMb.toFixed(1)} | ${s.processes} |`),
  ].join("\n");
}

/**
 * The rows of a bench's file (header and separator dropped) when this run wrote it; a row saying
 * so when the bench failed or left an older file: figures from another run never join this one.
 */
async function rowsOf(name: string, path: string, code: number, load: string): Promise<string[]> {
  const mtime = (await Deno.stat(path).catch(() => undefined))?.mtime?.getTime() ?? 0;
  const failed = `| ${name} | the bench failed (exit ${code}) or wrote no file: no figures from ` +
    `this run | - | - | - | - | not measured | ${load} |`;
  if (code !== 0 || mtime < started.getTime()) return [failed];
  const block = between(await Deno.readTextFile(path), ROWS_BEGIN, ROWS_END);
  if (block === undefined) return [];
  return block.split("\n").filter((l) => l.startsWith("|")).slice(2);
}

async function main(): Promise<void> {
  const info = await machine();
  const startLoad = await loadNow();
  await Deno.mkdir(outDir, { recursive: true });
  const runs: string[] = [];
  const summaryRows: string[] = [];
  const sections: string[] = [];
  const file = (name: string) => `${outDir}/${name}.md`;

  if (only.has("producer")) {
    const r = await task("bench:producer", [...sizes.producer, "--out", file("producer")]);
    runs.push(`| producer | exit ${r.code} | ${r.seconds.toFixed(0)} s | ${r.load} |`);
    summaryRows.push(...await rowsOf("producer", file("producer"), r.code, r.load));
  }
  if (only.has("scoring")) {
    // scoring_bench may write only bench/scoring.md or under data/bench-scoring.
    const out = publish ? "bench/scoring.md" : `data/bench-scoring/run-${stampId}.md`;
    const r = await task("bench:scoring", [...sizes.scoring, "--out", out]);
    runs.push(`| scoring | exit ${r.code} | ${r.seconds.toFixed(0)} s | ${r.load} |`);
    const text = await Deno.readTextFile(out).catch(() => "");
    if (!publish) await Deno.writeTextFile(file("scoring"), text);
    const rows = await rowsOf("scoring", out, r.code, r.load);
    summaryRows.push(
      ...(rows.length > 0 ? rows : [
        `| scoring | sandboxed vs in-process scoring; its table is not in the shared row ` +
        `format yet: see [scoring.md](scoring.md) (same run) | - | - | - | - | - | ${r.load} |`,
      ]),
    );
  }
  if (only.has("consumer")) {
    const r = await task("bench:consumer", [...sizes.consumer, "--out", file("consumer")]);
    runs.push(`| consumer | exit ${r.code} | ${r.seconds.toFixed(0)} s | ${r.load} |`);
    summaryRows.push(...await rowsOf("consumer", file("consumer"), r.code, r.load));
  }
  if (only.has("memory")) {
    const t = performance.now();
    const before = await loadNow();
    const m = await memoryBench(
      sizes.memory.records,
      sizes.memory.seconds,
      sizes.memory.idleSeconds,
    );
    runs.push(
      `| memory | done | ${((performance.now() - t) / 1000).toFixed(0)} s | ${
        loadSpan(before, await loadNow())
      } |`,
    );
    summaryRows.push(...rowsTable(memoryRows(m)).split("\n").slice(2));
    sections.push(memorySection(m));
  }

  const wall = (Date.now() - started.getTime()) / 1000;
  const endLoad = await loadNow();
  const summary = [
    SUMMARY_BEGIN,
    `Run ${started.toISOString()} (${size} size${
      values.quick ? ": a smoke run, not a measurement of record" : ""
    }), ${info.nproc} CPUs, ${(wall / 60).toFixed(0)} min; load average (1 min) ` +
    `${loadSpan(startLoad, endLoad)} over the run. The machine is shared: each row carries ` +
    "the load before → after its own measurement.",
    "",
    rowsTable([]).split("\n").slice(0, 2).join("\n"),
    ...summaryRows,
    SUMMARY_END,
  ].join("\n");

  const report = [
    "# Benchmark results",
    "",
    `Generated by \`deno task bench\` (bench/run_all.ts); never edit by hand.`,
    "",
    `**${stamp}.**`,
    "",
    "Every figure below and in producer.md, scoring.md and consumer.md comes from this run; the",
    "README's benchmark table is a copy of the summary (checked by tests/bench_results_test.ts).",
    "Analysis, which names the runs it discusses: producer_notes.md, scoring_notes.md,",
    "consumer_notes.md.",
    "",
    summary,
    "",
    "| machine | |",
    "|---|---|",
    ...Object.entries(info).map(([k, v]) => `| ${k} | ${v} |`),
    "",
    "| bench | result | wall time | load before → after |",
    "|---|---|---|---|",
    ...runs,
    "",
    ...sections.flatMap((s) => [s, ""]),
  ].join("\n");
  await Deno.writeTextFile(`${outDir}/RESULTS.md`, report);
  console.error(`bench: wrote ${outDir}/RESULTS.md (${(wall / 60).toFixed(1)} min)`);

  if (publish) {
    const readme = await Deno.readTextFile("README.md");
    const begin = readme.indexOf(SUMMARY_BEGIN);
    const end = readme.indexOf(SUMMARY_END);
    if (begin < 0 || end < begin) {
      throw new Error(`Cannot update README.md: no ${SUMMARY_BEGIN} … ${SUMMARY_END} block`);
    }
    await Deno.writeTextFile(
      "README.md",
      readme.slice(0, begin) + summary + readme.slice(end + SUMMARY_END.length),
    );
    // The README is formatted by deno fmt (padded tables); the test compares cells, not padding.
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", "README.md"] }).output();
    console.error("bench: updated the README's benchmark table");
  }
}

if (import.meta.main) await main();
