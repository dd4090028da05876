/**
 * Scoring bench: sandboxed scoring (ScoringHost: one worker per scorer, `permissions: "none"`)
 * vs in-process scoring doing the same job, on the same 100k orders; and the consumer's
 * per-record path (decode → Order.fromRaw → score → enrich → JSON.stringify, via the consumer's
 * own `prepareBatch`; no sink, no Kafka) with either scorer. Writes `bench/scoring.md`.
 *
 * Run: `deno task bench:scoring` (args: `--orders N --batch 500,2000 --lanes 1,4
 * --pipeline-batch 500 --pipeline-lanes 1,6 --scorers shipped,reads-all,cpu-heavy --repeat R
 * --out FILE`). How the sandbox path works and what was measured while changing it:
 * bench/scoring_notes.md (hand-written; this script regenerates only bench/scoring.md).
 *
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { Order, type OrderData } from "../core/order.ts";
import { resolveOptions, type Scorer, type ScorerModule } from "../consumer/scoring/contract.ts";
import { BUILTIN_FALLBACK_SCORE, type ScoreResult, ScoringHost } from "../consumer/scoring/host.ts";
import { loadManifest } from "../consumer/scoring/manifest.ts";
import { type ConsumedRecord, prepareBatch } from "../consumer/handler.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    orders: { type: "string", default: "100000" },
    batch: { type: "string", default: "500,2000,8192,32768,100000" },
    lanes: { type: "string", default: "1,4,6" },
    "pipeline-batch": { type: "string", default: "500,2000" },
    "pipeline-lanes": { type: "string", default: "1,6" },
    /** Scorer sets to measure (all three by default; A/B runs of a few rows use `shipped`). */
    scorers: { type: "string", default: "shipped,reads-all,cpu-heavy" },
    repeat: { type: "string", default: "5" },
    out: { type: "string", default: "bench/scoring.md" },
    /** Free text for the report, e.g. the CPU model (Deno needs --allow-all to read /proc). */
    machine: { type: "string", default: "" },
  },
});
const N = Number(values.orders);
const BATCHES = values.batch.split(",").map(Number);
const PIPELINE_BATCHES = values["pipeline-batch"].split(",").map(Number);
let BATCH = BATCHES[0]!; // the batch size of the rows being measured
const LANES = values.lanes.split(",").map(Number);
const PIPELINE_LANES = values["pipeline-lanes"].split(",").map(Number);
const REPEAT = Number(values.repeat);
const SCORER_SETS = new Set(values.scorers.split(","));
const SHIPPED_DIR = new URL("../plugins/", import.meta.url).pathname.replace(/\/$/, "");
const ALL_FIELDS_DIR = new URL("../data/bench-scoring/plugins", import.meta.url).pathname;
const CPU_HEAVY_DIR = new URL("../data/bench-scoring/cpu-heavy", import.meta.url).pathname;
const MOD_URL = new URL("../mod.ts", import.meta.url).href;
const CHANNELS = ["web", "partner", "mobile", "web", "pos"]; // pos has no scorer → fallback

function rawOrders(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const created = Date.parse("2026-11-26T20:00:00.000Z");
  for (let i = 0; i < n; i++) {
    const price = 1 + ((i * 37) % 2000); // whole units: the total is exact
    out.push({
      orderId: `ord-${String(i).padStart(7, "0")}`,
      customerId: `cust-${i % 977}`,
      channel: CHANNELS[i % CHANNELS.length]!,
      items: [
        { sku: "SKU-1", quantity: 2, unit_price: price },
        { sku: `SKU-${i % 50}`, quantity: 1, unit_price: 0.5 },
      ],
      total: 2 * price + 0.5,
      currency: "USD",
      created_at: new Date(created + i).toISOString(),
      produced_at: new Date(created + i + 10).toISOString(),
    });
  }
  return out;
}

/** Scorers that read every field of every order: the worst case for the wire. */
const READS_ALL_BODY = `
        let n = order.orderId.length + order.customerId.length + order.channel.length +
          order.currency.length + order.createdAt.length + (order.producedAt ?? "").length +
          order.total;
        for (const it of order.items) n += it.sku.length + it.quantity * it.unitPrice;
        return (Math.round(n) % 90) / 100;`;

/**
 * Scorers that read only `total` but do some arithmetic on it (about 1 µs per order on this
 * machine: the in-process CPU column shows it), a stand-in for a scorer that does real work;
 * shows where running scorers on other cores pays off.
 */
const CPU_HEAVY_BODY = `
        let x = Math.round(order.total * 100) % 2147483648;
        for (let k = 0; k < 64; k++) x = (x * 48271) % 2147483647;
        return (x % 90) / 100;`;

/** Writes web, partner, mobile and default scorers whose score is `body` into `dir`. */
async function writePlugins(dir: string, description: string, body: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const source = (channel: string) =>
    `import { defineScorer } from ${JSON.stringify(MOD_URL)};
export default defineScorer({
  spec: { name: "${channel}", channel: "${channel}", apiVersion: 1, description: "${description}", options: {} },
  create() {
    return {
      score: (order) => {${body}
      },
    };
  },
});
`;
  const scorers = ["web", "partner", "mobile"];
  for (const c of [...scorers, "default"]) {
    await Deno.writeTextFile(`${dir}/${c}.ts`, source(c));
  }
  await Deno.writeTextFile(
    `${dir}/manifest.json`,
    JSON.stringify({
      version: 1,
      discovery: false,
      scorers: scorers.map((c) => ({ name: c, channel: c, module: `./${c}.ts`, options: {} })),
      fallback: { module: "./default.ts", options: {} },
    }),
  );
  return dir;
}

type SyncScore = (orders: readonly OrderData[]) => readonly ScoreResult[];

/**
 * In-process scoring doing the host's job for the consumer, no less: route by channel, call
 * the channel scorer (same factories, same options), catch throws, accept only numbers in
 * [0, 1), else the fallback scorer (same checks), else the built-in score; frozen results.
 */
async function inProcessScorer(dir: string): Promise<SyncScore> {
  const manifest = await loadManifest(dir);
  const load = async (module: string, options: Readonly<Record<string, unknown>>) => {
    const mod = (await import(`${dir}/${module.slice(2)}`)).default as ScorerModule;
    return { name: mod.spec.name, scorer: mod.create(resolveOptions(mod.spec, options)) };
  };
  const byChannel = new Map<string, { name: string; scorer: Scorer }>();
  for (const s of manifest.scorers) byChannel.set(s.channel, await load(s.module, s.options));
  const fb = await load(manifest.fallback.module, manifest.fallback.options);
  const attempt = (scorer: Scorer, order: OrderData): number | undefined => {
    try {
      const v: unknown = scorer.score(order);
      return typeof v === "number" && v >= 0 && v < 1 ? v : undefined;
    } catch {
      return undefined;
    }
  };
  return (orders) => {
    const results: ScoreResult[] = new Array(orders.length);
    for (let i = 0; i < orders.length; i++) {
      const order = orders[i]!;
      const s = byChannel.get(order.channel);
      const score = s === undefined ? undefined : attempt(s.scorer, order);
      if (score !== undefined) {
        results[i] = Object.freeze({ score, scorer: s!.name, fallback: false });
        continue;
      }
      const reason = s === undefined ? "no_scorer" : "invalid_result";
      const f = attempt(fb.scorer, order);
      results[i] = Object.freeze(
        f !== undefined
          ? { score: f, scorer: fb.name, fallback: true, reason }
          : { score: BUILTIN_FALLBACK_SCORE, scorer: "builtin", fallback: true, reason },
      );
    }
    return Object.freeze(results);
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Process CPU time (every thread: host and scorer workers) in µs. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * Runs passes `a` and `b` (each one full pass over the data) alternately `REPEAT` times after a
 * warm-up of each, so load from other jobs on this shared machine hits both alike; median ms,
 * and median CPU µs of the whole process (all threads) per pass.
 */
async function timedPair(
  a: () => Promise<void> | void,
  b: () => Promise<void> | void,
): Promise<{ aMs: number; bMs: number; aCpu: number; bCpu: number }> {
  await a();
  await b();
  const as: number[] = [];
  const bs: number[] = [];
  const aCpu: number[] = [];
  const bCpu: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    let cpu = cpuMicros();
    let start = performance.now();
    await a();
    as.push(performance.now() - start);
    aCpu.push(cpuMicros() - cpu);
    cpu = cpuMicros();
    start = performance.now();
    await b();
    bs.push(performance.now() - start);
    bCpu.push(cpuMicros() - cpu);
  }
  return { aMs: median(as), bMs: median(bs), aCpu: median(aCpu), bCpu: median(bCpu) };
}

/** Calls `fn` on consecutive chunks of `items` from `lanes` concurrent loops. */
async function lanesOver<T>(
  items: readonly T[],
  lanes: number,
  fn: (chunk: readonly T[]) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const b = next;
      next += BATCH;
      await fn(items.slice(b, b + BATCH));
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

interface Row {
  readonly figure: string;
  readonly batch: number;
  readonly scorers: string;
  readonly lanes: number;
  readonly inMs: number;
  readonly sbMs: number;
  /** Median process CPU µs per pass (all threads). */
  readonly inCpu: number;
  readonly sbCpu: number;
}

async function withHost<T>(dir: string, fn: (host: ScoringHost) => Promise<T>): Promise<T> {
  const host = await ScoringHost.start({ pluginsDir: dir, log: (l) => console.error(l) });
  try {
    const result = await fn(host);
    const m = host.metrics();
    if (m.failures.length > 0 || m.builtin > 0) {
      throw new RangeError(`Sandboxed run had failures: ${JSON.stringify(m)}`);
    }
    return result;
  } finally {
    await host.close();
  }
}

function same(a: readonly ScoreResult[], b: readonly ScoreResult[]): void {
  for (let i = 0; i < a.length; i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) {
      throw new RangeError(
        `Sandboxed and in-process scores differ at ${i}: ${JSON.stringify(a[i])} vs ${
          JSON.stringify(b[i])
        }`,
      );
    }
  }
}

async function scoringRows(
  label: string,
  dir: string,
  orders: readonly Order[],
): Promise<Row[]> {
  const inproc = await inProcessScorer(dir);
  const inPass = () => {
    for (let b = 0; b < orders.length; b += BATCH) inproc(orders.slice(b, b + BATCH));
  };
  return await withHost(dir, async (host) => {
    same(await host.score(orders.slice(0, 2000)), inproc(orders.slice(0, 2000)));
    const rows: Row[] = [];
    for (const lanes of LANES) {
      const { aMs: inMs, bMs: sbMs, aCpu: inCpu, bCpu: sbCpu } = await timedPair(
        inPass,
        () => lanesOver(orders, lanes, (chunk) => host.score(chunk)),
      );
      rows.push({
        figure: "scoring",
        batch: BATCH,
        scorers: label,
        lanes,
        inMs,
        sbMs,
        inCpu,
        sbCpu,
      });
      console.log(describeRow(rows.at(-1)!));
    }
    return rows;
  });
}

async function pipelineRows(
  label: string,
  dir: string,
  records: readonly ConsumedRecord[],
): Promise<Row[]> {
  const inproc = await inProcessScorer(dir);
  const run =
    (score: (o: readonly OrderData[]) => Promise<readonly ScoreResult[]>) =>
    async (chunk: readonly ConsumedRecord[]) => {
      const out = await prepareBatch(chunk, { score, now: Date.now, maxBytes: 1 << 20 });
      if (out.some((o) => o.kind !== "prepared")) throw new RangeError("a record was not prepared");
    };
  const inScore = (o: readonly OrderData[]) => Promise.resolve(inproc(o));
  return await withHost(dir, async (host) => {
    const rows: Row[] = [];
    for (const lanes of PIPELINE_LANES) {
      const { aMs: inMs, bMs: sbMs, aCpu: inCpu, bCpu: sbCpu } = await timedPair(
        () => lanesOver(records, lanes, run(inScore)),
        () => lanesOver(records, lanes, run((o) => host.score(o))),
      );
      rows.push({
        figure: "pipeline",
        batch: BATCH,
        scorers: label,
        lanes,
        inMs,
        sbMs,
        inCpu,
        sbCpu,
      });
      console.log(describeRow(rows.at(-1)!));
    }
    return rows;
  });
}

const rate = (ms: number) => Math.round(N / (ms / 1000)).toLocaleString("en-US");

function describeRow(r: Row): string {
  return `${r.figure} batch=${r.batch} ${r.scorers} lanes=${r.lanes}: in-process ${
    rate(r.inMs)
  }/s, ` +
    `sandboxed ${rate(r.sbMs)}/s, ratio ${(r.inMs / r.sbMs).toFixed(2)}`;
}

const raws = rawOrders(N);
const orders = raws.map((r) => Order.fromRaw(r));
const encoder = new TextEncoder();
const records: ConsumedRecord[] = raws.map((r, i) => ({
  partition: 0,
  offset: String(i),
  key: encoder.encode(String(r["orderId"])),
  value: encoder.encode(JSON.stringify(r)),
  headers: { produced_at: String(Date.parse(String(r["produced_at"]))) },
  timestamp: String(Date.now()),
}));
const loadBefore = Deno.loadavg();
const started = new Date().toISOString();
console.log(
  `orders=${N} batch=${BATCHES.join(",")} repeat=${REPEAT} channels=${CHANNELS.join(",")}`,
);
const allDir = await writePlugins(ALL_FIELDS_DIR, "reads all", READS_ALL_BODY);
const heavyDir = await writePlugins(CPU_HEAVY_DIR, "cpu heavy", CPU_HEAVY_BODY);
const rows: Row[] = [];
for (const batch of BATCHES) {
  BATCH = batch;
  if (SCORER_SETS.has("shipped")) rows.push(...await scoringRows("shipped", SHIPPED_DIR, orders));
  if (SCORER_SETS.has("reads-all")) rows.push(...await scoringRows("reads-all", allDir, orders));
  if (SCORER_SETS.has("cpu-heavy")) rows.push(...await scoringRows("cpu-heavy", heavyDir, orders));
}
for (const batch of PIPELINE_BATCHES) {
  BATCH = batch;
  if (SCORER_SETS.has("shipped")) rows.push(...await pipelineRows("shipped", SHIPPED_DIR, records));
  if (SCORER_SETS.has("reads-all")) rows.push(...await pipelineRows("reads-all", allDir, records));
}
const loadAfter = Deno.loadavg();

const ratioOf = (r: Row) => r.inMs / r.sbMs;
const cpuPerOrder = (us: number) => (us / N).toFixed(3);
const shippedScoring = rows.filter((r) => r.figure === "scoring" && r.scorers === "shipped");
const best = shippedScoring.length === 0
  ? undefined
  : shippedScoring.reduce((a, b) => (ratioOf(b) > ratioOf(a) ? b : a));
// The consumer scores chunks of up to 500 records per partition, up to 6 partitions at once.
const consumerLike = shippedScoring.find((r) => r.batch === 500 && r.lanes === 6) ??
  shippedScoring.filter((r) => r.batch === 500).at(-1);
const met = shippedScoring.filter((r) => ratioOf(r) >= 0.9);
const heavyScoring = rows.filter((r) => r.figure === "scoring" && r.scorers === "cpu-heavy");
const heavyBest = heavyScoring.length === 0
  ? undefined
  : heavyScoring.reduce((a, b) => (ratioOf(b) > ratioOf(a) ? b : a));
const heavyConsumerLike = heavyScoring.find((r) => r.batch === 500 && r.lanes === 6);
const verdict = (r: Row) => (ratioOf(r) >= 0.9 ? "met" : "MISSED");
const describeConfig = (r: Row) =>
  `batch ${r.batch}, ${r.lanes} call${r.lanes === 1 ? "" : "s"} in flight: ${
    ratioOf(r).toFixed(2)
  } (${verdict(r)})`;
const table = [
  "| figure | batch | scorers | lanes | in-process orders/s | sandboxed orders/s | ratio | target | CPU µs/order in-process | CPU µs/order sandboxed |",
  "| ------ | ----- | ------- | ----- | ------------------- | ------------------ | ----- | ------ | ----------------------- | ---------------------- |",
  ...rows.map((r) => {
    const ratio = ratioOf(r);
    const target = r.figure === "scoring" ? (ratio >= 0.9 ? "≥ 0.9 met" : "≥ 0.9 MISSED") : "-";
    return `| ${r.figure} | ${r.batch} | ${r.scorers} | ${r.lanes} | ${rate(r.inMs)} | ${
      rate(r.sbMs)
    } | ${ratio.toFixed(2)} | ${target} | ${cpuPerOrder(r.inCpu)} | ${cpuPerOrder(r.sbCpu)} |`;
  }),
].join("\n");
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(", ");
const report = `# Scoring bench: sandboxed workers vs in-process

Target (issue #3): sandboxed scoring ≥ 0.9 × in-process, shipped scorers.

- **Best configuration:** ${best === undefined ? "not measured" : describeConfig(best)}.
- **What the consumer does today** (chunks of up to 500 records per partition, up to 6
  partitions at once): ${
  consumerLike === undefined ? "not measured" : describeConfig(consumerLike)
}.
- Rows that meet the target: ${
  met.length === 0
    ? "none"
    : met.map((r) => `batch ${r.batch}/${r.lanes} lane${r.lanes === 1 ? "" : "s"}`).join(", ")
} (of ${shippedScoring.length} shipped-scorer rows).
- For comparison, scorers that do some work (*cpu-heavy*, see below): best ${
  heavyBest === undefined ? "not measured" : describeConfig(heavyBest)
}; batch 500 with 6 calls in flight: ${
  heavyConsumerLike === undefined ? "not measured" : ratioOf(heavyConsumerLike).toFixed(2)
}.

How the sandbox path works, where the time goes, before/after figures and what the consumer
would need to score in large batches: [scoring_notes.md](scoring_notes.md) (hand-written; this
file is regenerated by \`deno task bench:scoring\`).

${table}

${started}, ${
  values.machine || `${Deno.build.os}/${Deno.build.arch}`
}, ${navigator.hardwareConcurrency} vCPU shared with other
engineers' jobs, Deno ${Deno.version.deno}. Load average (1, 5, 15 min) before: ${
  load(loadBefore)
}; after: ${load(loadAfter)}. ${N} orders; scoring batch sizes ${BATCHES.join(", ")}; pipeline
batch sizes ${PIPELINE_BATCHES.join(", ")}; median of ${REPEAT} passes of each side, alternating
in-process and sandboxed passes (so bursts of load hit both), after a warm-up pass of each.

Written by \`deno task bench:scoring\` (bench/scoring_bench.ts); numbers on this shared machine
move by ±30 % between runs, more when the load average is high.

## What is measured

- **scoring**: \`Order\` values (already validated) in calls of ${
  BATCHES.join(", ")
} orders, channels
  ${CHANNELS.join(", ")} (\`pos\` has no scorer and goes to the fallback). *In-process* calls the
  same scorer factories with the same manifest options and does the host's job, no less: route by
  channel, catch throws, accept only numbers in [0, 1), else the fallback scorer, else the
  built-in score, one frozen \`ScoreResult\` per order. *Sandboxed* is \`ScoringHost.score\`: one
  worker per scorer with \`permissions: "none"\`, deadlines, restarts, result validation on both
  sides. \`lanes\` = calls the caller keeps in flight (the consumer scores up to 6 partitions
  at once); in-process scoring is synchronous, so lanes do not apply to it.
- **CPU µs/order**: process CPU time (user + system, every thread: host and the four scorer
  workers) per pass, divided by the orders. The sandbox runs on two threads at once, so it can
  keep up in wall-clock time while using more CPU in total; on a machine whose cores are busy
  with other work, that extra CPU is what it loses.
- **pipeline**: the consumer's per-record path, \`prepareBatch\` from consumer/handler.ts (strict
  UTF-8 decode → JSON.parse → \`Order.fromRaw\` → score → \`enrich\` → \`JSON.stringify\` →
  encode), over the same orders as raw JSON records, in chunks of ${
  PIPELINE_BATCHES.join(" or ")
} with in-process vs sandboxed scoring; no sink, no Kafka. This is what the sandbox costs the
  consumer in practice.
- **scorers**: *shipped* = plugins/ (web reads \`total\`, partner reads \`total\`, mobile and
  default read nothing); *reads-all* = scorers whose score depends on every field (string lengths, item
  prices, total), so every field of every order must cross into the worker (worst case);
  *cpu-heavy* = scorers that read only \`total\` and do 64 rounds of integer arithmetic on it
  (about 1 µs per order, see the in-process CPU column; a stand-in for a scorer that does real
  work).
`;
await Deno.writeTextFile(values.out, report);
console.log(`wrote ${values.out}`);
