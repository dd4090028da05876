/**
 * `deno task bench`: runs every benchmark one after another and writes `bench/RESULTS.md`.
 *
 * - `deno task bench:producer`, `bench:scoring`, `bench:consumer` (each writes its own
 *   `bench/<name>.md`; their headline tables are copied into RESULTS.md);
 * - a memory bench: the consumer's RSS (`ps -o rss=` of the `consumer/main.ts` subprocess) after 100k and after 1M orders on the per-order local layout (target:
 *   flat within 10 %), bounded by `--memory-seconds`; it says exactly how far it got.
 *
 *   deno task bench [--only producer,scoring,consumer,memory] [--memory-records 1000000]
 *                   [--memory-seconds 600]
 *
 * Needs `deno task up` (local broker and S3 server).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    only: { type: "string", default: "producer,scoring,consumer,memory" },
    "memory-records": { type: "string", default: "1000000" },
    "memory-seconds": { type: "string", default: "600" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`deno task bench — every benchmark beside its baseline; writes bench/RESULTS.md

Usage: deno task bench [--only producer,scoring,consumer,memory] [--memory-records N]
                       [--memory-seconds S]

  --only LIST          which sections to run (default all four); others keep their last results
  --memory-records N   orders for the consumer RSS bench (default 1000000; RSS read at 100k and N)
  --memory-seconds S   time bound of the memory bench (default 600); it says how far it got

Needs the local broker and S3 server (deno task up). Takes ~15 minutes with all sections.`);
  Deno.exit(0);
}
const only = new Set(values.only.split(","));
const decoder = new TextDecoder();

async function capture(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim();
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
    date: new Date().toISOString(),
    nproc: String(navigator.hardwareConcurrency),
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? "?",
    loadavg: Deno.loadavg().map((l) => l.toFixed(2)).join(" "),
    deno: Deno.version.deno,
    java,
    kafka: kafkaJar?.replace(/^kafka_2\.13-|\.jar$/g, "") ?? "?",
  };
}

/** Runs `deno task <name>` (stderr inherited, stdout echoed and kept); exit code, seconds, stdout. */
async function task(name: string): Promise<{ code: number; seconds: number; stdout: string }> {
  const started = performance.now();
  console.error(`bench: deno task ${name}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", name],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let stdout = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    stdout += chunk;
    await Deno.stderr.write(new TextEncoder().encode(chunk));
  }
  const status = await child.status;
  return { code: status.code, seconds: (performance.now() - started) / 1000, stdout };
}

/** The first markdown table of a file, or a note. */
async function firstTable(path: string): Promise<string> {
  const text = await Deno.readTextFile(path).catch(() => "");
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  if (start < 0) return `(no table in ${path})`;
  let end = start;
  while (end < lines.length && lines[end]!.startsWith("|")) end++;
  return lines.slice(start, end).join("\n");
}

/** RSS of `pid` in KiB, from `ps -o rss=` (Deno wants --allow-all for /proc/<pid>/status). */
async function rssKb(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdout: "piped",
  })
    .output();
  return Number(decoder.decode(out.stdout).trim() || NaN);
}

interface MemoryResult {
  readonly target: number;
  readonly produced: number;
  readonly reached: number;
  readonly seconds: number;
  readonly samples: readonly { stored: number; rssMb: number; at: number }[];
  readonly at100k?: number;
  readonly atEnd?: number;
  readonly peak: number;
  readonly note: string;
  /** Mean RSS of the 20 samples from 100k on, and of the last 20 samples (GC sawtooth smoothed). */
  readonly windows?: { readonly early: number; readonly late: number };
}

async function memoryBench(records: number, seconds: number): Promise<MemoryResult> {
  const suffix = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
  const topic = `bench-memory-${suffix}`;
  const dir = `./data/bench/memory-${suffix}`;
  const kafka = new Kafka({
    clientId: "bench-memory",
    brokers: ["localhost:9092"],
    logLevel: logLevel.ERROR,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 6, replicationFactor: 1 }, {
      topic: `${topic}.dlq`,
      numPartitions: 1,
      replicationFactor: 1,
    }],
  });
  const env = {
    KAFKA_BROKERS: "localhost:9092",
    KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
    ORDERS_TOPIC: topic,
    DLQ_TOPIC: `${topic}.dlq`,
    CONSUMER_GROUP: `${topic}-group`,
    SINK: "local",
    SINK_DIR: dir,
    SINK_LAYOUT: "per-order",
    HTTP_PORT: "0",
  };
  try {
    console.error(`bench: memory: producing ${records} orders to ${topic}`);
    const prod = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-P=produce",
        "producer/main.ts",
        "--topic",
        topic,
        "--count",
        String(records),
        "--seed",
        "1",
        "--quiet",
        "--json",
      ],
      env,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const summary = JSON.parse(decoder.decode(prod.stdout).trim().split("\n").at(-1) ?? "{}");
    const produced = Number(summary.acked ?? 0);

    console.error(`bench: memory: consuming (per-order layout) for at most ${seconds} s`);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=consume", "consumer/main.ts", "--summary-interval", "1000"],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let stored = 0;
    const pump = (async () => {
      let rest = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop() ?? "";
        for (const p of parts) {
          const m = /stored=(\d+)/.exec(p);
          if (m !== null) stored = Number(m[1]);
        }
      }
    })();
    const started = performance.now();
    const samples: { stored: number; rssMb: number; at: number }[] = [];
    let at100k: number | undefined;
    while (performance.now() - started < seconds * 1000 && stored < produced) {
      await new Promise((r) => setTimeout(r, 1000));
      const rss = (await rssKb(child.pid)) / 1024;
      samples.push({ stored, rssMb: rss, at: (performance.now() - started) / 1000 });
      if (at100k === undefined && stored >= 100_000) at100k = rss;
    }
    const atEnd = samples.at(-1)?.rssMb;
    const elapsed = (performance.now() - started) / 1000;
    child.kill("SIGTERM");
    await child.status;
    await pump;
    const peak = Math.max(...samples.map((s) => s.rssMb));
    const mean = (xs: readonly { rssMb: number }[]) =>
      xs.reduce((a, x) => a + x.rssMb, 0) / Math.max(1, xs.length);
    const from100k = samples.findIndex((x) => x.stored >= 100_000);
    const windows = from100k < 0 ? undefined : {
      early: mean(samples.slice(from100k, from100k + 20)),
      late: mean(samples.slice(-20)),
    };
    const result: MemoryResult = {
      target: records,
      produced,
      reached: stored,
      seconds: elapsed,
      samples,
      peak,
      note: stored >= produced ? "all consumed" : `stopped at the ${seconds} s limit`,
      ...(at100k === undefined ? {} : { at100k }),
      ...(windows === undefined ? {} : { windows }),
      ...(atEnd === undefined ? {} : { atEnd }),
    };
    return result;
  } finally {
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    console.error(`bench: memory: removing ${dir}`);
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const info = await machine();
  const sections: string[] = [];
  const runs: string[] = [];
  const tasks = JSON.parse(await Deno.readTextFile("deno.json")).tasks as Record<string, string>;
  for (const name of ["producer", "scoring", "consumer"]) {
    if (!only.has(name)) continue;
    if (tasks[`bench:${name}`] === undefined) {
      runs.push(`| bench:${name} | not defined in deno.json | - |`);
      continue;
    }
    const startedAt = Date.now();
    const r = await task(`bench:${name}`);
    runs.push(`| bench:${name} | exit ${r.code} | ${r.seconds.toFixed(0)} s |`);
    const mtime = (await Deno.stat(`bench/${name}.md`).catch(() => undefined))?.mtime?.getTime();
    sections.push(
      mtime !== undefined && mtime >= startedAt
        ? `### ${name} (\`deno task bench:${name}\`, ${info.date})\n\n` +
          (await firstTable(`bench/${name}.md`)) +
          `\n\nHeadline table of the bench/${name}.md this run wrote; method and notes there.`
        : `### ${name} (\`deno task bench:${name}\`, ${info.date}; stdout, it writes no file)\n\n` +
          `\`\`\`\n${r.stdout.trim()}\n\`\`\`\n\nMethod, baseline and target: [bench/${name}.md](${name}.md).`,
    );
  }
  let memory: MemoryResult | undefined;
  if (only.has("memory")) {
    const started = performance.now();
    memory = await memoryBench(Number(values["memory-records"]), Number(values["memory-seconds"]));
    runs.push(`| memory | done | ${((performance.now() - started) / 1000).toFixed(0)} s |`);
  }

  let memoryText = "";
  if (memory !== undefined) {
    const ratio = memory.at100k !== undefined && memory.atEnd !== undefined
      ? memory.atEnd / memory.at100k
      : NaN;
    const flat = Number.isFinite(ratio) && ratio <= 1.1;
    const end = memory.reached >= 1_000_000 ? "1M" : `${memory.reached}`;
    const every = Math.max(1, Math.floor(memory.samples.length / 12));
    memoryText = [
      `### memory: consumer RSS, per-order layout, local disk (${info.date})`,
      "",
      `Produced ${memory.produced} orders (target ${memory.target}); the consumer stored ` +
      `${memory.reached} in ${
        memory.seconds.toFixed(0)
      } s (${memory.note}). RSS = ps -o rss= of the ` +
      "`consumer/main.ts` process, sampled every second.",
      "",
      "| what | figure | baseline | ratio | target |",
      "|---|---|---|---|---|",
      `| RSS after ${end} orders vs after 100k | ${memory.atEnd?.toFixed(1) ?? "-"} MiB | ` +
      `${memory.at100k?.toFixed(1) ?? "- (100k not reached)"} MiB after 100k | ` +
      `${Number.isFinite(ratio) ? ratio.toFixed(2) : "-"} | ` +
      `${Number.isFinite(ratio) ? (flat ? "met" : "MISSED") : "not measured"} (flat within 10 %${
        memory.reached < 1_000_000 ? `; measured to ${end}, not 1M` : ""
      }) |`,
      memory.windows === undefined
        ? "| mean RSS, last 20 s vs 20 s from 100k | - | - | - | not measured |"
        : `| mean RSS, last 20 s vs 20 s from 100k (smooths the GC sawtooth) | ` +
          `${memory.windows.late.toFixed(1)} MiB | ${memory.windows.early.toFixed(1)} MiB | ` +
          `${(memory.windows.late / memory.windows.early).toFixed(2)} | ` +
          `${
            memory.windows.late / memory.windows.early <= 1.1 ? "met" : "MISSED"
          } (flat within 10 %) |`,
      `| peak RSS | ${memory.peak.toFixed(1)} MiB | - | - | - |`,
      "",
      "| seconds | stored | RSS MiB |",
      "|---|---|---|",
      ...memory.samples.filter((_, i) => i % every === 0 || i === memory!.samples.length - 1)
        .map((s) => `| ${s.at.toFixed(0)} | ${s.stored} | ${s.rssMb.toFixed(1)} |`),
    ].join("\n");
  }

  // Benches not run this time (--only) keep their section from the previous RESULTS.md.
  const previous = await Deno.readTextFile("bench/RESULTS.md").catch(() => "");
  const kept = previous.split(/^(?=### )/m).slice(1).map((x) => x.replace(/\n+$/, ""));
  const keep = (name: string) => kept.find((x) => x.startsWith(`### ${name}`));
  for (const name of ["producer", "scoring", "consumer"]) {
    const old = keep(name);
    if (!only.has(name) && old !== undefined) sections.push(old);
  }
  if (!only.has("memory")) memoryText = keep("memory") ?? "";

  const report = [
    "# Benchmark results",
    "",
    "Written by `deno task bench` (`bench/run_all.ts`). Each figure comes with its baseline measured",
    "in the same run on the same machine, the ratio, and the target met or missed. The machine is",
    "shared (2 cores, other engineers' work running): figures move between runs.",
    "",
    "| machine | |",
    "|---|---|",
    ...Object.entries(info).map(([k, v]) => `| ${k} | ${v} |`),
    "",
    "| bench | result | wall time |",
    "|---|---|---|",
    ...runs,
    "",
    "## Figures",
    "",
    ...sections.flatMap((s) => [s, ""]),
    memoryText,
    "",
  ].join("\n");
  await Deno.writeTextFile("bench/RESULTS.md", report);
  console.error("bench: wrote bench/RESULTS.md");
}

if (import.meta.main) await main();
