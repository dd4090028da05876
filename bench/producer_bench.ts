/**
 * Producer throughput benchmark: `producer/main.ts` (kafkajs under Deno) against Kafka's own
 * `org.apache.kafka.tools.ProducerPerformance` (Java client) on the same local broker, same
 * record count and about the same record size (the mean size of a synthetic JSON order), both with
 * acks=all, snappy and the same linger. Also measures the kafkajs idempotent producer on and off.
 * Writes the results to `bench/producer.md`.
 *
 *   deno task bench:producer [--records 200000] [--rounds 2] [--batch-size N] [--linger-ms MS]
 *                            [--max-in-flight N] [--no-write]
 *
 * Needs the broker: `bash dev/kafka.sh start`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SyntheticOrders } from "../producer/synthetic.ts";
import { CLI_DEFAULTS } from "../producer/cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface Run {
  readonly label: string;
  readonly throughput: number;
  readonly detail: string;
}

async function command(
  cmd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(cmd, { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

async function kafkaTool(args: string[]): Promise<string> {
  const r = await command("bash", ["dev/kafka.sh", "tool", ...args]);
  if (r.code !== 0) {
    throw new Error(`Cannot run Kafka tool ${args[0]}: exit ${r.code}\n${r.err}${r.out}`);
  }
  return r.out;
}

async function createTopic(topic: string): Promise<void> {
  await kafkaTool([
    "TopicCommand",
    "--bootstrap-server",
    "localhost:9092",
    "--create",
    "--topic",
    topic,
    "--partitions",
    "6",
    "--replication-factor",
    "1",
  ]);
}

async function deleteTopic(topic: string): Promise<void> {
  await kafkaTool([
    "TopicCommand",
    "--bootstrap-server",
    "localhost:9092",
    "--delete",
    "--topic",
    topic,
  ]);
}

function meanOrderSize(): number {
  const gen = new SyntheticOrders({ seed: 1 });
  const enc = new TextEncoder();
  let bytes = 0;
  const n = 10_000;
  for (let i = 0; i < n; i++) bytes += enc.encode(JSON.stringify(gen.next())).length;
  return Math.round(bytes / n);
}

async function ours(
  topic: string,
  records: number,
  tuning: { batchSize: number; lingerMs: number; maxInFlight: number },
  idempotent: boolean,
): Promise<Run> {
  const r = await command(Deno.execPath(), [
    "run",
    "-P=produce",
    "--quiet",
    "producer/main.ts",
    "--topic",
    topic,
    "--count",
    String(records),
    "--quiet",
    "--json",
    "--batch-size",
    String(tuning.batchSize),
    "--linger-ms",
    String(tuning.lingerMs),
    "--max-in-flight",
    String(tuning.maxInFlight),
    idempotent ? "--idempotent" : "--no-idempotent",
  ]);
  const last = r.out.trim().split("\n").at(-1) ?? "";
  if (r.code !== 0) throw new Error(`Cannot run the producer: exit ${r.code}\n${r.err}\n${last}`);
  const s = JSON.parse(last);
  return {
    label: `orderflow producer${idempotent ? " (idempotent)" : ""}`,
    throughput: s.throughput,
    detail:
      `acked ${s.acked}/${records} in ${s.elapsed_ms} ms, ${s.batches} sends, ack p50/p95/p99 ` +
      `${s.ack_latency_ms.p50}/${s.ack_latency_ms.p95}/${s.ack_latency_ms.p99} ms`,
  };
}

async function java(topic: string, records: number, size: number, lingerMs: number): Promise<Run> {
  const out = await kafkaTool([
    "org.apache.kafka.tools.ProducerPerformance",
    "--topic",
    topic,
    "--num-records",
    String(records),
    "--record-size",
    String(size),
    "--throughput",
    "-1",
    "--producer-props",
    "bootstrap.servers=localhost:9092",
    "acks=all",
    "compression.type=snappy",
    `linger.ms=${lingerMs}`,
  ]);
  const line = out.trim().split("\n").filter((l) => l.includes(`${records} records sent`)).at(-1);
  const m = line?.match(/([\d.]+) records\/sec/);
  if (line === undefined || m?.[1] === undefined) {
    throw new Error(`Cannot read ProducerPerformance output:\n${out}`);
  }
  return { label: "Kafka ProducerPerformance (Java)", throughput: Number(m[1]), detail: line };
}

async function machine(): Promise<string> {
  const sh = async (script: string) => (await command("bash", ["-c", script])).out.trim();
  const nproc = await sh("nproc");
  const memKb = Number(await sh("awk '/MemTotal/ {print $2}' /proc/meminfo"));
  const cpu = await sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
  const java = await sh("java -version 2>&1 | head -1");
  const load = await sh("cut -d' ' -f1-3 /proc/loadavg");
  return `${nproc} CPUs (${cpu || "?"}), ${Math.round(memKb / 1024 / 1024)} GiB RAM, ` +
    `Deno ${Deno.version.deno}, ${java}; load average at the end ${load}`;
}

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    records: { type: "string", default: "200000" },
    rounds: { type: "string", default: "2" },
    "batch-size": { type: "string", default: String(CLI_DEFAULTS.batchSize) },
    "linger-ms": { type: "string", default: String(CLI_DEFAULTS.lingerMs) },
    "max-in-flight": { type: "string", default: String(CLI_DEFAULTS.maxInFlight) },
    "no-write": { type: "boolean", default: false },
  },
});
const records = Number(values.records);
const rounds = Number(values.rounds);
const tuning = {
  batchSize: Number(values["batch-size"]),
  lingerMs: Number(values["linger-ms"]),
  maxInFlight: Number(values["max-in-flight"]),
};
const size = meanOrderSize();
const stamp = Date.now().toString(36);
const topics = {
  ours: `bench-ours-${stamp}`,
  idem: `bench-idem-${stamp}`,
  java: `bench-java-${stamp}`,
};
for (const t of Object.values(topics)) await createTopic(t);
const results: Run[][] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const runs = [
      await ours(topics.ours, records, tuning, false),
      await java(topics.java, records, size, tuning.lingerMs),
      await ours(topics.idem, records, tuning, true),
    ];
    for (const r of runs) {
      console.error(`round ${round}: ${r.label}: ${r.throughput} rec/s — ${r.detail}`);
    }
    results.push(runs);
  }
} finally {
  for (const t of Object.values(topics)) {
    await deleteTopic(t).catch((e) => console.error(String(e)));
  }
}

const best = (i: number) => Math.max(...results.map((r) => r[i]?.throughput ?? 0));
const [oursBest, javaBest, idemBest] = [best(0), best(1), best(2)];
const ratio = oursBest / javaBest;
const rows = results.flatMap((runs, i) =>
  runs.map((r) => `| ${i + 1} | ${r.label} | ${Math.round(r.throughput)} | ${r.detail} |`)
);
const report = `# Producer benchmark

Generated by \`deno task bench:producer\` (bench/producer_bench.ts); rerun to refresh.

- Date: ${new Date().toISOString()}
- Machine: ${await machine()} — shared with other work while measuring, so expect noise.
- Broker: local Kafka (dev/kafka.sh), PLAINTEXT localhost:9092, one node, fresh 6-partition topics.
- Records: ${records} per run; record size ${size} B (mean JSON size of a synthetic order; the Java
  tool sends random ${size}-byte payloads, ours sends real orders of that mean size).
- Both: acks=all, snappy, linger ${tuning.lingerMs} ms, as fast as possible.
- orderflow producer: \`--batch-size ${tuning.batchSize} --linger-ms ${tuning.lingerMs} --max-in-flight ${tuning.maxInFlight}\`
  (throughput = acked / time from first send to last ack, excluding process start and connect).
- ProducerPerformance: \`--throughput -1 --producer-props acks=all compression.type=snappy linger.ms=${tuning.lingerMs}\`
  (Java client defaults otherwise: batch.size 16384, max.in.flight 5, idempotence on).

## Result (best of ${rounds})

| producer | records/s |
|---|---|
| orderflow producer (kafkajs, idempotent off — the default) | ${Math.round(oursBest)} |
| orderflow producer (kafkajs, \`--idempotent\`) | ${Math.round(idemBest)} |
| Kafka ProducerPerformance (Java) | ${Math.round(javaBest)} |

**Ratio orderflow / Java: ${ratio.toFixed(2)}** (target >= 0.35: ${
  ratio >= 0.35 ? "met" : "MISSED"
}).
Idempotent / non-idempotent: ${(idemBest / oursBest).toFixed(2)}.

## What was tuned (see git history of producer/)

The producer is CPU-bound in one JavaScript thread (the Java client encodes in a separate sender
thread and is JIT-compiled), so batch size, linger and in-flight barely moved the needle
(batch 250-2000, in-flight 3-10: within run-to-run noise of +-15 %; batch 5000 was slower). What
helped was CPU per record, found with \`deno run --cpu-prof\`:

1. Stock kafkajs under Deno: ~43k rec/s against ~190k for Java on a quiet machine (ratio ~0.25).
2. Key partitioning with a Java-compatible murmur2 on 32-bit integer math instead of kafkajs'
   \`Long\`-object version (same partitions, tested against kafkajs): ~15 % less CPU.
3. kafkajs' varint writer allocates a \`Buffer\` per varint (~10 per record), and Deno's
   \`node:buffer\` makes that expensive: producer/_fast_varint.ts writes varints in place
   (byte-identical, tested against kafkajs' originals): ~30 % less CPU.
4. Synthetic orders are serialised before freezing (frozen objects stringify ~2x slower) and
   \`created_at\` is formatted once per millisecond.
5. The socket already has Nagle off (config/kafka.ts \`setNoDelay\`).

Ack latency is measured per batch from the \`send()\` call to the broker's answer.

## All runs

| round | producer | records/s | detail |
|---|---|---|---|
${rows.join("\n")}
`;
if (!values["no-write"]) {
  await Deno.writeTextFile(new URL("producer.md", import.meta.url), report);
  console.error("wrote bench/producer.md");
}
console.log(report);
