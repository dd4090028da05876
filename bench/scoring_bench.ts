/**
 * Scoring bench, at the level a user feels: the consumer's batched pipeline (decode →
 * `Order.fromRaw` → score → enrich → NDJSON segments on local disk, through the consumer's own
 * `prepareBatch` and `BatchedSink`; no Kafka, so scoring weighs more here than in a real run)
 * with the same scorers sandboxed (one process per plugin) and in-process (trusted mode), runs
 * interleaved. Also: a scorer doing about 1 µs of work per order, sandboxed, against the
 * shipped scorers sandboxed; and the resident memory of each plugin process. Writes
 * `bench/scoring.md`.
 *
 * Run: `deno task bench:scoring` (args: `--orders N --chunk 500 --lanes 6 --repeat R --out FILE`).
 * Notes from previous sessions: bench/scoring_notes.md (hand-written).
 *
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { type ConsumedRecord, prepareBatch } from "../consumer/handler.ts";
import { BatchedSink } from "../consumer/sinks/batched.ts";
import { LocalSink } from "../consumer/sinks/local.ts";
import { ScoringHost } from "../plugins_host/host.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    orders: { type: "string", default: "60000" },
    /** Records per partition batch (kafkajs hands the consumer batches of about this size). */
    chunk: { type: "string", default: "500" },
    /** Partitions handled at once. */
    lanes: { type: "string", default: "6" },
    repeat: { type: "string", default: "5" },
    out: { type: "string", default: "bench/scoring.md" },
  },
});
const N = Number(values.orders);
const CHUNK = Number(values.chunk);
const LANES = Number(values.lanes);
const REPEAT = Number(values.repeat);
const ROOT = new URL("../data/bench-scoring/", import.meta.url).pathname;
const SHIPPED = new URL("../plugins/", import.meta.url).pathname;
const CHANNELS = ["web", "partner", "mobile", "web", "pos"]; // pos has no scorer → fallback
const encoder = new TextEncoder();

/** Kafka-like records, spread over `LANES` partitions. */
function records(n: number): ConsumedRecord[][] {
  const lanes: ConsumedRecord[][] = Array.from({ length: LANES }, () => []);
  const created = Date.parse("2026-11-26T20:00:00.000Z");
  for (let i = 0; i < n; i++) {
    const price = 1 + ((i * 37) % 2000);
    const lane = lanes[i % LANES]!;
    lane.push({
      partition: i % LANES,
      offset: String(lane.length),
      key: encoder.encode(`ord-${i}`),
      value: encoder.encode(JSON.stringify({
        orderId: `ord-${String(i).padStart(7, "0")}`,
        customerId: `cust-${i % 977}`,
        channel: CHANNELS[i % CHANNELS.length]!,
        items: [{ sku: "SKU-1", quantity: 2, unit_price: price }, {
          sku: `SKU-${i % 50}`,
          quantity: 1,
          unit_price: 0.5,
        }],
        total: 2 * price + 0.5,
        currency: "USD",
        created_at: new Date(created + i).toISOString(),
      })),
      headers: {},
      timestamp: String(created + i),
    });
  }
  return lanes;
}

/** Scorers whose score does about 1 µs of arithmetic per order (a stand-in for real work). */
async function busyPlugins(): Promise<string> {
  const dir = `${ROOT}busy`;
  await Deno.mkdir(dir, { recursive: true });
  for (const channel of ["web", "partner", "mobile"]) {
    await Deno.writeTextFile(
      `${dir}/${channel}.ts`,
      `import { defineScorer } from "@orderflow/scorer";
export default defineScorer({
  spec: { name: "${channel}", channel: "${channel}", apiVersion: 1, description: "busy", options: {} },
  create: () => ({
    score(order) {
      let x = Math.round(order.total * 100) % 2147483648;
      for (let k = 0; k < 64; k++) x = (x * 48271) % 2147483647;
      return (x % 90) / 100;
    },
  }),
});
`,
    );
  }
  await Deno.copyFile(`${SHIPPED}default.ts`, `${dir}/default.ts`);
  const manifest = JSON.parse(await Deno.readTextFile(`${SHIPPED}manifest.json`));
  for (const entry of manifest.scorers) entry.options = {};
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
  return dir;
}

/** Runs the batched pipeline over `lanes`; returns orders per second and this process's CPU. */
async function pipeline(
  lanes: ConsumedRecord[][],
  host: ScoringHost,
): Promise<{ rate: number; cpuMs: number }> {
  const dir = await Deno.makeTempDir({ dir: ROOT, prefix: "sink-" });
  const sink = new BatchedSink({ inner: new LocalSink({ dir }) });
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(lanes.map(async (lane, partition) => {
    for (let from = 0; from < lane.length; from += CHUNK) {
      const prepared = await prepareBatch(lane.slice(from, from + CHUNK), {
        score: (orders) => host.score(orders),
        now: Date.now,
        maxBytes: 1024 * 1024,
      });
      for (const p of prepared) {
        if (p.kind !== "prepared") throw new Error(`Cannot bench: a record was ${p.kind}`);
        sink.append(partition, { offset: p.record.offset, dt: p.dt, body: p.body });
      }
      await sink.flushSealed(partition);
    }
  }));
  await sink.close();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await Deno.remove(dir, { recursive: true });
  return { rate: N / seconds, cpuMs: (used.user + used.system) / 1000 };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

await Deno.mkdir(ROOT, { recursive: true });
const lanes = records(N);
const log = (line: string) => console.error(line);
const hosts = {
  "shipped, in-process": await ScoringHost.start({
    pluginsDir: SHIPPED,
    isolation: "in-process",
    log,
  }),
  "shipped, sandboxed": await ScoringHost.start({ pluginsDir: SHIPPED, log }),
  "1 µs/order, in-process": await ScoringHost.start({
    pluginsDir: await busyPlugins(),
    isolation: "in-process",
    log,
  }),
  "1 µs/order, sandboxed": await ScoringHost.start({ pluginsDir: `${ROOT}busy`, log }),
};
const runs = new Map<string, number[]>(Object.keys(hosts).map((k) => [k, []]));
const cpus = new Map<string, number[]>(Object.keys(hosts).map((k) => [k, []]));
const loadBefore = Deno.loadavg();
for (const host of Object.values(hosts)) await pipeline(lanes, host); // warm-up: JIT, page cache
const order = Object.entries(hosts);
for (let r = 0; r < REPEAT; r++) {
  // Each round starts with the next configuration, so none always runs after the same one.
  for (
    const [name, host] of [...order.slice(r % order.length), ...order.slice(0, r % order.length)]
  ) {
    const { rate, cpuMs } = await pipeline(lanes, host);
    runs.get(name)!.push(rate);
    cpus.get(name)!.push(cpuMs);
    console.error(`${name}: ${Math.round(rate)} orders/s, host CPU ${Math.round(cpuMs)} ms`);
  }
}
const loadAfter = Deno.loadavg();
const rss = hosts["shipped, sandboxed"].status().map((s) => [s.name, s.rssBytes, s.memoryMb]);
await Promise.all(Object.values(hosts).map((h) => h.close()));

const rate = (name: string) => median(runs.get(name)!);
const mib = rss.flatMap(([, bytes]) =>
  bytes === undefined ? [] : [Math.round(Number(bytes) / 1048576)]
);
const rssRange = mib.length === 0 ? "?" : `${Math.min(...mib)}–${Math.max(...mib)} MiB`;
const ratio = (a: string, b: string) => (rate(a) / rate(b)).toFixed(2);
const report = `# Scoring bench

Generated by \`deno task bench:scoring\` (bench/scoring_bench.ts) — do not edit by hand.

- Pipeline: ${N} orders over ${LANES} partitions in batches of ${CHUNK}, through the consumer's
  \`prepareBatch\` and the batched layout on local disk (no Kafka). Median of ${REPEAT} interleaved
  runs (each round starting with the next configuration) after one warm-up of each.
- Host CPU: user + system time of the bench's own process (all its threads) per order, median;
  the sandboxed plugin processes' CPU is not in it.
- The same comparison through Kafka (fetch and decode included, as \`deno task consume\` runs)
  is row (f) of consumer.md; this one, without Kafka, is the stricter of the two.
- Load average before / after: ${loadBefore.map((x) => x.toFixed(2)).join(" ")} / ${
  loadAfter.map((x) => x.toFixed(2)).join(" ")
} (the machine is shared: compare rows of the same run only).

| target | measured | goal |
| --- | ---: | ---: |
| shipped sandboxed ÷ shipped in-process | ${
  ratio("shipped, sandboxed", "shipped, in-process")
} | ≥ 0.90 |
| 1 µs/order sandboxed ÷ shipped sandboxed | ${
  ratio("1 µs/order, sandboxed", "shipped, sandboxed")
} | ≥ 0.90 |
| 1 µs/order sandboxed ÷ 1 µs/order in-process | ${
  ratio("1 µs/order, sandboxed", "1 µs/order, in-process")
} | (for reference) |
| resident memory per sandboxed plugin process | ${rssRange} | (reported) |

| scorers | orders/s (median) | host CPU µs/order (median) | runs |
| --- | ---: | ---: | --- |
${
  [...runs].map(([name, xs]) =>
    `| ${name} | ${Math.round(median(xs))} | ${(median(cpus.get(name)!) * 1000 / N).toFixed(2)} | ${
      xs.map((x) => Math.round(x)).join(", ")
    } |`
  ).join("\n")
}

Resident memory per sandboxed plugin process (after the runs):

| plugin | RSS | heap cap |
| --- | ---: | ---: |
${
  rss.map(([name, bytes, cap]) =>
    `| ${name} | ${
      bytes === undefined ? "?" : `${Math.round(Number(bytes) / 1048576)} MiB`
    } | ${cap} MiB |`
  ).join("\n")
}
`;
await Deno.writeTextFile(values.out, report);
console.log(report);
