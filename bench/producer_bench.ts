/**
 * Producer throughput: `producer/main.ts` (kafkajs under Deno) against Kafka's own
 * `org.apache.kafka.tools.ProducerPerformance` (Java client) on the same local broker, with
 * matched settings — the rules a skeptic would ask for:
 *
 * - the same records: ProducerPerformance sends our synthetic orders, written to a payload file
 *   (`--payload-file`, one order per line, same seed as ours), so record size and
 *   compressibility match; snappy and acks=all on both sides;
 * - the same idempotence setting on both sides: one row with it off (our default), one with it on;
 * - connect time counted the same way: ProducerPerformance's clock runs from before its first
 *   send (which waits for the bootstrap connection and metadata) to after `close()`; ours adds the
 *   producer's `connect_ms` (connect + topic check) and `close_ms` to its send→last-ack time;
 * - best of N only with N rounds on both sides, alternating ours and Java's within each round.
 *
 * Writes `--out` (default `data/bench/producer.md`; `deno task bench` passes `bench/producer.md`).
 *
 *   deno task bench:producer [--records 200000] [--rounds 2] [--batch-size N] [--linger-ms MS]
 *                            [--max-in-flight N] [--out FILE]
 *
 * Needs the broker: `bash dev/kafka.sh start`.
 *
 * @module
 */

import { SyntheticOrders } from "../producer/synthetic.ts";
import { CLI_DEFAULTS } from "../producer/cli.ts";
import { loadNow, loadSpan, ratio, type Row, rowsBlock, runStamp, verdict } from "./_report.ts";
import {
  benchArgs,
  createTopics,
  deleteTopics,
  kafkaTool,
  machineLine,
  produce,
  ROOT,
} from "./_harness.ts";

/** Issue 18: ≥ 0.8 × ProducerPerformance with matched settings. */
const TARGET = 0.8;

interface Run {
  readonly label: string;
  readonly throughput: number;
  readonly detail: string;
  readonly load: string;
}

/**
 * Writes `records` synthetic orders (seed 1, as ours sends) one per line; returns the mean
 * value size in bytes. ProducerPerformance picks a random line per record.
 */
async function payloadFile(path: string, records: number): Promise<number> {
  const gen = new SyntheticOrders({ seed: 1 });
  const enc = new TextEncoder();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let bytes = 0;
  try {
    const chunk: string[] = [];
    for (let i = 0; i < records; i++) {
      const { json } = gen.nextJson();
      bytes += enc.encode(json).length;
      chunk.push(json);
      if (chunk.length === 10_000 || i === records - 1) {
        await file.write(enc.encode(chunk.join("\n") + "\n"));
        chunk.length = 0;
      }
    }
  } finally {
    file.close();
  }
  return Math.round(bytes / records);
}

/** The producer's `--json` fields this bench reads. */
interface OursSummary {
  readonly acked: number;
  readonly connect_ms: number;
  readonly elapsed_ms: number;
  readonly close_ms: number;
  readonly throughput: number;
  readonly batches: number;
  readonly ack_latency_ms: { readonly p50: number; readonly p95: number; readonly p99: number };
}

async function ours(
  topic: string,
  records: number,
  tuning: { batchSize: number; lingerMs: number; maxInFlight: number },
  idempotent: boolean,
): Promise<Run> {
  const before = await loadNow();
  const s = await produce<OursSummary>([
    "--topic",
    topic,
    "--count",
    String(records),
    "--seed",
    "1",
    "--quiet",
    "--batch-size",
    String(tuning.batchSize),
    "--linger-ms",
    String(tuning.lingerMs),
    "--max-in-flight",
    String(tuning.maxInFlight),
    idempotent ? "--idempotent" : "--no-idempotent",
  ], { denoFlags: ["--quiet"] });
  const load = loadSpan(before, await loadNow());
  // ProducerPerformance's clock includes connecting and closing: so does this figure.
  const ms = Number(s.connect_ms) + Number(s.elapsed_ms) + Number(s.close_ms);
  return {
    label: `orderflow producer, idempotence ${idempotent ? "on" : "off"}`,
    throughput: (s.acked * 1000) / ms,
    load,
    detail: `acked ${s.acked}/${records} in ${ms} ms (connect ${s.connect_ms} + first send to ` +
      `last ack ${s.elapsed_ms} [${s.throughput} rec/s] + close ${s.close_ms}), ${s.batches} ` +
      `sends, ack p50/p95/p99 ${s.ack_latency_ms.p50}/${s.ack_latency_ms.p95}/` +
      `${s.ack_latency_ms.p99} ms`,
  };
}

async function java(
  topic: string,
  records: number,
  payload: string,
  lingerMs: number,
  idempotent: boolean,
): Promise<Run> {
  const before = await loadNow();
  const out = await kafkaTool([
    "org.apache.kafka.tools.ProducerPerformance",
    "--topic",
    topic,
    "--num-records",
    String(records),
    "--payload-file",
    payload,
    "--throughput",
    "-1",
    "--producer-props",
    "bootstrap.servers=localhost:9092",
    "acks=all",
    "compression.type=snappy",
    `linger.ms=${lingerMs}`,
    `enable.idempotence=${idempotent}`,
  ]);
  const load = loadSpan(before, await loadNow());
  const line = out.trim().split("\n").filter((l) => l.includes(`${records} records sent`)).at(-1);
  const m = line?.match(/([\d.]+) records\/sec/);
  if (line === undefined || m?.[1] === undefined) {
    throw new Error(`Cannot read ProducerPerformance output:\n${out}`);
  }
  return {
    label: `Kafka ProducerPerformance (Java), idempotence ${idempotent ? "on" : "off"}`,
    throughput: Number(m[1]),
    detail: line,
    load,
  };
}

const values = benchArgs({
  records: "200000",
  rounds: "2",
  "batch-size": String(CLI_DEFAULTS.batchSize),
  "linger-ms": String(CLI_DEFAULTS.lingerMs),
  "max-in-flight": String(CLI_DEFAULTS.maxInFlight),
  out: "data/bench/producer.md",
});
const records = Number(values.records);
const rounds = Number(values.rounds);
const tuning = {
  batchSize: Number(values["batch-size"]),
  lingerMs: Number(values["linger-ms"]),
  maxInFlight: Number(values["max-in-flight"]),
};
const stamp = Date.now().toString(36);
await Deno.mkdir(`${ROOT}data/bench`, { recursive: true });
const payload = `${ROOT}data/bench/producer-payload-${stamp}.ndjson`;
const size = await payloadFile(payload, records);
const topics = ["ours-off", "java-off", "ours-on", "java-on"].map((t) => `bench-${t}-${stamp}`);
for (const t of topics) await createTopics(t, false);
// results[round] = [ours off, java off, ours on, java on]
const results: Run[][] = [];
const firstLoad = await loadNow();
try {
  for (let round = 1; round <= rounds; round++) {
    const runs = [
      await ours(topics[0]!, records, tuning, false),
      await java(topics[1]!, records, payload, tuning.lingerMs, false),
      await ours(topics[2]!, records, tuning, true),
      await java(topics[3]!, records, payload, tuning.lingerMs, true),
    ];
    for (const r of runs) {
      console.error(`round ${round}: ${r.label}: ${r.throughput.toFixed(0)} rec/s — ${r.detail}`);
    }
    results.push(runs);
  }
} finally {
  for (const t of topics) await deleteTopics(t, false).catch((e) => console.error(String(e)));
  await Deno.remove(payload).catch(() => undefined);
}
const lastLoad = await loadNow();

const best = (i: number) => Math.max(...results.map((r) => r[i]?.throughput ?? 0));
const [oursOff, javaOff, oursOn, javaOn] = [best(0), best(1), best(2), best(3)];
const load = loadSpan(firstLoad, lastLoad);
const measures = (idem: string) =>
  `records/s acked, ${records} synthetic orders (mean value ${size} B), acks=all, snappy, ` +
  `linger ${tuning.lingerMs} ms, idempotence ${idem}, both sides; clock includes connect ` +
  `and close on both sides; best of ${rounds} round(s) each`;
const rows: Row[] = [
  {
    id: "producer",
    measures: measures("off (our default)"),
    figure: `${oursOff.toFixed(0)} rec/s`,
    baseline: `Kafka ProducerPerformance, same payloads (--payload-file), ` +
      `enable.idempotence=false: ${javaOff.toFixed(0)} rec/s`,
    ratio: ratio(oursOff, javaOff),
    target: `≥ ${TARGET}`,
    verdict: verdict(oursOff / javaOff, TARGET),
    load,
  },
  {
    id: "producer, idempotent",
    measures: measures("on"),
    figure: `${oursOn.toFixed(0)} rec/s`,
    baseline: `Kafka ProducerPerformance, same payloads, enable.idempotence=true: ` +
      `${javaOn.toFixed(0)} rec/s`,
    ratio: ratio(oursOn, javaOn),
    target: `- (context: not the default)`,
    verdict: "-",
    load,
  },
];
const all = results.flatMap((runs, i) =>
  runs.map((r) =>
    `| ${i + 1} | ${r.label} | ${Math.round(r.throughput)} | ${r.load} | ${r.detail} |`
  )
);
const report = `# Producer benchmark

Generated by \`bench/producer_bench.ts\` (${runStamp()}); never edit by hand.

- Machine: ${await machineLine()}; load average (1 min) ${load} — shared with other work, expect noise.
- Broker: local Kafka (dev/kafka.sh), PLAINTEXT localhost:9092, one node, fresh 6-partition topics.
- Records: ${records} per run: synthetic orders, seed 1, mean value ${size} B. ProducerPerformance
  reads the same orders from a payload file (\`--payload-file\`, a random line per record), so
  size and compressibility match. Ours also sends a key (the order ID) and two headers per
  record; the Java tool sends no key and no headers.
- Both sides: acks=all, snappy, linger ${tuning.lingerMs} ms, as fast as possible, the same
  idempotence setting (one row each). kafkajs' idempotent producer allows one request in flight;
  the Java one allows 5.
- orderflow producer: \`--batch-size ${tuning.batchSize} --linger-ms ${tuning.lingerMs} --max-in-flight ${tuning.maxInFlight} --seed 1\`.
  Throughput = acked / (connect + first send → last ack + close), as ProducerPerformance counts
  (its clock starts before its first send, which waits for the connection and metadata, and
  stops after \`close()\`). Process start is outside both clocks.
- ProducerPerformance: \`--payload-file … --throughput -1 --producer-props acks=all compression.type=snappy linger.ms=${tuning.lingerMs} enable.idempotence=…\`
  (Java client defaults otherwise: batch.size 16384, max.in.flight 5).
- Rounds: ${rounds}; each round runs ours and Java's alternately (off, off, on, on); each side's
  best round is reported.

${rowsBlock(rows)}

## All runs

| round | producer | records/s | load before → after | detail |
|---|---|---|---|---|
${all.join("\n")}

What was tuned and what was tried: the git history of producer/ and the bench notes.
`;
await Deno.writeTextFile(new URL(values.out, `file://${ROOT}`), report);
console.error(`wrote ${values.out}`);
console.log(report);
