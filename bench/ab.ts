/**
 * `deno task bench:ab`: the same bench rows, this tree against an earlier commit, in one run.
 *
 * Rule: a refactor is shown not to slow anything down by measuring both sides in the same run,
 * on the same machine, against the same broker, alternately (base, new, base, new, …), so a
 * change of load falls on both. The base commit is checked out as a detached git worktree in a
 * temporary directory; it shares this tree's `.run/` (the running broker's and S3 server's
 * settings) and `dev/.cache/` (the Kafka jars its `dev/kafka.sh tool` runs), so neither side
 * starts or downloads anything. Each side runs with its own `deno.json` (its permission sets)
 * and its own code, with the same environment: only `PATH`, `HOME` and `DENO_DIR` of this one;
 * both talk to the local broker's PLAINTEXT listener, `localhost:9092`.
 *
 * Rows (a refactor of the pipeline could slow them, and both commits can run them with the
 * same meaning; see {@linkcode SKIPPED} for the others):
 * - `producer`: `producer/main.ts` of each tree, run by this script with the same arguments
 *   (the base's default channel mix given as `--mix`, so neither side starts plugins);
 *   the figure is the producer's own `throughput` (acked records / first send → last ack),
 *   which both commits report the same way (the published row's clock, which adds connect and
 *   close, is newer than the base);
 * - `(a)`: each tree's `bench/consumer_bench.ts --only a` (the batched pipeline in-process,
 *   clock from connect to the last write), its `(a) consumer batched N rec/s` line;
 * - `(d)`: each tree's `bench/consumer_bench.ts --only d`, one measured window of `--seconds`
 *   at 1000 orders/s after `--warmup` (the base's harness; the new one is run with
 *   `--slot <seconds> --cold-seconds 0`, which is that window); the figure is the pipeline's
 *   produce → stored p99.
 *
 *   deno task bench:ab [--base 7d4fc54] [--rounds 5] [--rows producer,a,d] [--records 200000]
 *                      [--consumer-records 100000] [--seconds 20] [--warmup 5]
 *                      [--out bench/ab.md] [--keep]
 *
 * The default base, 7d4fc54, is the last commit before the architecture refactor (its successor
 * splits the storage layouts into modules); the sandbox v2 work landed in the same stretch, so the
 * comparison covers both.
 *
 * Writes `--out` (generated: never edit it) with every round's figure per side, the medians and
 * new ÷ base, and the load average before → after each run; each run's output goes to
 * `data/bench/ab-<stamp>/`. Needs `deno task up`. About 20 minutes with the defaults.
 *
 * @module
 */
import { loadNow, loadSpan, quantile } from "./_report.ts";
import { benchArgs, command, createTopics, deleteTopics, machineLine, ROOT } from "./_harness.ts";

/** Rows of `deno task bench` this script does not compare, and why. */
export const SKIPPED: readonly string[] = [
  "producer, idempotent — context row, not the default; its code path is the producer row's",
  "scoring — the base's scoring_bench measures other things (its harness was rewritten since)",
  "(b), (c), (e) — the sinks alone and the COS curve; (e) does not exist at the base",
  "(d) cold start, (f) sandbox cost through the pipeline — do not exist at the base",
  "memory — a 1M-order drain per side is too long for one A/B run, and the base has no probe",
];

const values = benchArgs({
  base: "7d4fc54",
  rounds: "5",
  rows: "producer,a,d",
  records: "200000",
  "consumer-records": "100000",
  seconds: "20",
  warmup: "5",
  out: "bench/ab.md",
}, ["keep", "help"]);
if (values.help) {
  console.log(`deno task bench:ab — bench rows of this tree against an earlier commit, alternately

Usage: deno task bench:ab [--base 7d4fc54] [--rounds 5] [--rows producer,a,d] [--records 200000]
         [--consumer-records 100000] [--seconds 20] [--warmup 5] [--out bench/ab.md] [--keep]

  --base REV            the commit to compare against (a detached worktree in a temp dir)
  --rounds N            rounds; each runs every row on both sides, base first
  --rows LIST           producer (records/s), a (consumer batched, records/s), d (p99 ms)
  --records N           orders per producer run
  --consumer-records N  prefilled records of each (a) run
  --seconds S, --warmup S   the (d) window at 1000/s and its warm-up
  --out FILE            the report (under bench/ or data/)
  --keep                keep the base worktree (its path is printed)

Needs the local broker and S3 server (deno task up); starts neither.`);
  Deno.exit(0);
}

/** One side of the comparison. */
interface Side {
  readonly name: "base" | "new";
  readonly dir: string;
  readonly rev: string;
}

/** One measurement of one row on one side. */
interface Sample {
  readonly value: number;
  readonly load: string;
  readonly log: string;
}

/** A compared row: how to run it in a tree, and which way is better. */
interface RowSpec {
  readonly id: string;
  readonly measures: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  run(side: Side, log: string): Promise<number>;
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const logDir = `${ROOT}data/bench/ab-${stamp}`;
const rounds = Number(values.rounds);

/** The environment both sides get: nothing of this shell's settings but where tools are. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Runs `deno <args>` in `side`'s tree with its deno.json; output to `log`; throws on failure. */
async function denoIn(side: Side, args: string[], log: string): Promise<string> {
  const [sub, ...rest] = args;
  const o = await new Deno.Command(Deno.execPath(), {
    args: [sub!, "--config", `${side.dir}/deno.json`, ...rest],
    cwd: side.dir,
    env: cleanEnv(),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(o.stdout) + "\n" + new TextDecoder().decode(o.stderr);
  await Deno.writeTextFile(log, text);
  if (o.code !== 0) {
    throw new Error(`${side.name}: deno ${args.join(" ")} exited ${o.code}; see ${log}`);
  }
  return text;
}

/** The first capture of `pattern` in `text` as a number; throws naming the log when absent. */
function figure(text: string, pattern: RegExp, log: string): number {
  const m = pattern.exec(text);
  const n = Number(m?.[1]);
  if (m === null || !Number.isFinite(n)) throw new Error(`No ${pattern} in ${log}`);
  return n;
}

const ROWS: readonly RowSpec[] = [
  {
    id: "producer",
    measures: `records/s acked (first send → last ack, the producer's own \`throughput\`), ` +
      `${values.records} synthetic orders, seed 1, acks=all, snappy, batch 500, linger 20 ms, ` +
      `5 in flight, idempotence off, fresh 6-partition topic`,
    unit: "rec/s",
    higherIsBetter: true,
    async run(side, log) {
      const topic = `ab-producer-${side.name}-${Date.now().toString(36)}`;
      await createTopics(topic, false);
      try {
        const text = await denoIn(side, [
          "run",
          "-P=produce",
          "--quiet",
          "producer/main.ts",
          ...["--topic", topic, "--count", values.records, "--seed", "1", "--quiet", "--json"],
          ...["--batch-size", "500", "--linger-ms", "20", "--max-in-flight", "5"],
          // The base's default mix, given: without --mix this tree's producer follows the
          // plugins' channels, which starts the scoring host (a feature, not the refactor).
          ...["--mix", "web=0.6,partner=0.1,mobile=0.3", "--no-idempotent"],
        ], log);
        const summary = text.split("\n").filter((l) => l.startsWith("{")).at(-1) ?? "{}";
        const s = JSON.parse(summary);
        if (Number(s.acked) !== Number(values.records)) {
          throw new Error(`acked ${s.acked}; see ${log}`);
        }
        return Number(s.throughput);
      } finally {
        await deleteTopics(topic, false).catch((e) => console.error(`ab: ${e}`));
      }
    },
  },
  {
    id: "(a)",
    measures: `consumer pipeline, batched layout, local disk: records/s from connect to the ` +
      `last write, ${values["consumer-records"]} prefilled records (consumer_bench --only a)`,
    unit: "rec/s",
    higherIsBetter: true,
    async run(side, log) {
      const out = side.name === "base" ? ["--no-write"] : ["--out", `data/bench/ab-${stamp}.md`];
      const text = await denoIn(side, [
        "run",
        "-P=bench-consumer",
        "bench/consumer_bench.ts",
        ...["--only", "a", "--records", values["consumer-records"], ...out],
      ], log);
      return figure(text, /\(a\) consumer batched (\d+) rec\/s/, log);
    },
  },
  {
    id: "(d)",
    measures: `produce→stored p99 at 1000 orders/s, per-order layout, local disk, one window ` +
      `of ${values.seconds} s after a ${values.warmup} s warm-up (consumer_bench --only d)`,
    unit: "ms",
    higherIsBetter: false,
    async run(side, log) {
      const window = ["--only", "d", "--rate", "1000", "--seconds", values.seconds];
      const args = side.name === "base"
        ? [...window, "--warmup", values.warmup, "--no-write"]
        : [...window, "--warmup", values.warmup, "--slot", values.seconds, "--cold-seconds", "0"];
      if (side.name === "new") args.push("--out", `data/bench/ab-${stamp}.md`);
      const text = await denoIn(side, [
        "run",
        "-P=bench-consumer",
        "bench/consumer_bench.ts",
        ...args,
      ], log);
      return figure(text, /\(d\) 1000\/s: \d+ stored; p50 \S+ p95 \S+ p99 ([\d.]+) ms/, log);
    },
  },
];

async function git(args: string[]): Promise<string> {
  const r = await command("git", args);
  if (r.code !== 0) throw new Error(`git ${args.join(" ")}: exit ${r.code}\n${r.err}`);
  return r.out.trim();
}

const median = (xs: readonly number[]) => quantile(xs, 0.5);

/**
 * The rounds, of those both sides ran, in which the new side did worse than the base in the same
 * round (the pair that shared the machine's load of that moment).
 */
export function worseRounds(
  base: readonly number[],
  next: readonly number[],
  higherIsBetter: boolean,
): number {
  let worse = 0;
  for (let i = 0; i < Math.min(base.length, next.length); i++) {
    if (higherIsBetter ? next[i]! < base[i]! : next[i]! > base[i]!) worse++;
  }
  return worse;
}

/**
 * The row's verdict. Slower beyond noise when the new median is worse than every base round (the
 * base's own spread in the same run is the noise), or when the new side did worse in every round
 * of at least 5 (a sign test: 5 of 5 by chance has probability 1/32).
 */
export function abVerdict(
  base: readonly number[],
  next: readonly number[],
  higherIsBetter: boolean,
): string {
  if (base.length === 0 || next.length === 0) return "-";
  const rounds = Math.min(base.length, next.length);
  const worse = worseRounds(base, next, higherIsBetter);
  if (slowerThanNoise(base, next, higherIsBetter)) return "SLOWER than every base round";
  if (rounds >= 5 && worse === rounds) return `SLOWER in every round (${worse} of ${rounds})`;
  return `within noise (worse in ${worse} of ${rounds} rounds)`;
}

/** Whether the new median is worse than every base round. */
export function slowerThanNoise(
  base: readonly number[],
  next: readonly number[],
  higherIsBetter: boolean,
): boolean {
  if (base.length === 0 || next.length === 0) return false;
  const m = median(next);
  return higherIsBetter ? m < Math.min(...base) : m > Math.max(...base);
}

function report(
  sides: { base: Side; new: Side },
  rows: readonly RowSpec[],
  results: Map<string, { base: Sample[]; new: Sample[] }>,
  info: { machine: string; dirty: boolean; started: Date; load: string },
): string {
  const fmt = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : "-");
  const summary = rows.map((row) => {
    const r = results.get(row.id)!;
    const [b, n] = [r.base.map((s) => s.value), r.new.map((s) => s.value)];
    const ratio = median(n) / median(b);
    return `| ${row.id} | ${row.measures} | ${row.higherIsBetter ? "higher" : "lower"} | ` +
      `${fmt(median(b))} ${row.unit} (${fmt(Math.min(...b))}–${fmt(Math.max(...b))}) | ` +
      `${fmt(median(n))} ${row.unit} (${fmt(Math.min(...n))}–${fmt(Math.max(...n))}) | ` +
      `${Number.isFinite(ratio) ? ratio.toFixed(2) : "-"} | ` +
      `${abVerdict(b, n, row.higherIsBetter)} |`;
  });
  const perRound = rows.flatMap((row) => {
    const r = results.get(row.id)!;
    return r.base.map((s, i) =>
      `| ${row.id} | ${i + 1} | ${fmt(s.value)} | ${s.load} | ${fmt(r.new[i]?.value ?? NaN)} | ` +
      `${r.new[i]?.load ?? "-"} |`
    );
  });
  const wall = (Date.now() - info.started.getTime()) / 60_000;
  return `# A/B: this tree against ${sides.base.rev.slice(0, 7)}

Generated by \`deno task bench:ab\` (bench/ab.ts) on ${info.started.toISOString()}; do not edit by
hand — rerun it.

- base: ${sides.base.rev} (a detached worktree); new: ${sides.new.rev}${
    info.dirty ? " plus uncommitted changes" : ""
  } (this tree).
- Machine: ${info.machine}; ${wall.toFixed(0)} min; load average (1 min) ${info.load} over the
  run. Each run's load before → after is in its row below.
- Same broker (local, PLAINTEXT localhost:9092), same environment, same Deno; ${rounds} round(s),
  each running every row on the base, then on the new tree. Logs: \`${logDir.slice(ROOT.length)}/\`.
- Noise rule: a row is called slower when the new median is worse than every base round, or
  when the new side did worse in every round of at least 5 (paired by round: a sign test).

| row | what | better | base: median (min–max) | new: median (min–max) | new ÷ base | verdict |
|---|---|---|---|---|---|---|
${summary.join("\n")}

## Every run

| row | round | base | load before → after | new | load before → after |
|---|---|---|---|---|---|
${perRound.join("\n")}

## Rows of \`deno task bench\` not compared

${SKIPPED.map((s) => `- ${s}`).join("\n")}
`;
}

async function main(): Promise<void> {
  const only = new Set(values.rows.split(","));
  const rows = ROWS.filter((r) => only.has(r.id.replace(/[()]/g, "")));
  if (rows.length === 0) {
    console.error(`ab: --rows: none of producer, a, d in "${values.rows}"`);
    Deno.exit(2);
  }
  if (!/^(bench|data)\//.test(values.out)) {
    console.error("ab: --out must be under bench/ or data/ (the permission set writes there only)");
    Deno.exit(2);
  }
  const started = new Date();
  const baseRev = await git(["rev-parse", "--verify", `${values.base}^{commit}`]);
  const newRev = await git(["rev-parse", "HEAD"]);
  const dirty = (await git(["status", "--porcelain", "--untracked-files=no"])) !== "";
  const tmp = (await command("mktemp", ["-d", "-t", "orderflow-ab-XXXXXX"])).out.trim();
  const baseDir = `${tmp}/tree`;
  await Deno.mkdir(logDir, { recursive: true });
  console.error(`ab: base ${baseRev.slice(0, 7)} in ${baseDir}; logs in ${logDir}`);
  await git(["worktree", "add", "--detach", baseDir, baseRev]);
  try {
    // The base tree uses this tree's services and jars (links to the real directories).
    for (const shared of [".run", "dev/.cache"]) {
      const real = (await command("realpath", ["-e", shared])).out.trim();
      if (real === "") throw new Error(`ab: ${shared} is missing: run deno task up first`);
      const r = await command("ln", ["-sfn", real, `${baseDir}/${shared}`]);
      if (r.code !== 0) throw new Error(`ab: cannot link ${shared}: ${r.err}`);
    }
    const sides = {
      base: { name: "base", dir: baseDir, rev: baseRev } as Side,
      new: { name: "new", dir: ROOT.replace(/\/$/, ""), rev: newRev } as Side,
    };
    const results = new Map(rows.map((r) => [r.id, { base: [] as Sample[], new: [] as Sample[] }]));
    const loadStart = await loadNow();
    for (let round = 1; round <= rounds; round++) {
      for (const row of rows) {
        for (const side of [sides.base, sides.new]) {
          const log = `${logDir}/${row.id.replace(/[()]/g, "")}-${round}-${side.name}.log`;
          const before = await loadNow();
          const value = await row.run(side, log);
          const load = loadSpan(before, await loadNow());
          results.get(row.id)![side.name].push({ value, load, log });
          console.error(
            `ab: round ${round} ${row.id} ${side.name}: ${value} ${row.unit} (load ${load})`,
          );
        }
      }
    }
    const text = report(sides, rows, results, {
      machine: await machineLine(),
      dirty,
      started,
      load: loadSpan(loadStart, await loadNow()),
    });
    await Deno.writeTextFile(`${ROOT}${values.out}`, text);
    console.log(text);
    console.error(`ab: wrote ${values.out}`);
  } finally {
    if (values.keep) {
      console.error(`ab: kept the base worktree ${baseDir} (git worktree remove --force it)`);
    } else {
      await git(["worktree", "remove", "--force", baseDir]).catch((e) => console.error(`${e}`));
      await command("rmdir", [tmp]);
    }
  }
}

if (import.meta.main) await main();
