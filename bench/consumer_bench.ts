/**
 * Consumer benchmarks, each against a baseline measured in the same run on the same machine,
 * matched so the ratio says something:
 *
 * - (a) the consumer pipeline (fetch → validate → sandboxed scoring → enrich → batched NDJSON on
 *   local disk → commit) vs Kafka's `ConsumerPerformance` (Java client, fetch only): the same
 *   prefilled topic, the same record count, both clocks including connect and group join;
 * - (b) the pipeline with the per-order layout on local disk vs a raw loop doing the sink's
 *   file-system work (temp file, write, fsync, close, rename, shared directory fsync) on the same
 *   bytes and names, with the same write concurrency (write concurrency × 6 partitions);
 * - (c) the COS sink vs a raw `putObject` loop (the SDK directly) at the same concurrency;
 * - (d) produce → stored latency at a steady 1,000 orders/s, with the disk alone (the per-order
 *   layout's file-system work at the same rate, no Kafka) measured in the same window:
 *   interleaved slots of a few seconds each, so a disk stall falls on both. Target:
 *   p99 ≤ max(25 ms, disk-alone p99 + 10 ms). Before it, the cold start: the first seconds of
 *   orders from a consumer process started just before (target p99 ≤ 100 ms, issue 17);
 * - (e) the pipeline with the per-order layout on COS, throughput against PUT concurrency
 *   (1, 8, 32, 64) on the local S3 server, each beside a raw `putObject` loop at that concurrency;
 * - (f) the sandbox's cost where a user feels it: the (a) pipeline with the shipped scorers
 *   sandboxed vs the same pipeline with the same scorers called in-process (the host's trusted
 *   mode), same topic, alternating rounds, each clocked from its first handled record to its last
 *   write (connect and group join are fixed costs that would dilute the difference).
 *
 * Topics are prefilled with the producer CLI. Writes `--out` (default `data/bench/consumer.md`;
 * `deno task bench` passes `bench/consumer.md`) and the (e) curve as CSV beside it.
 *
 *   deno task bench:consumer [--records 100000] [--files 10000] [--objects 2000]
 *                            [--rate 1000[,200...]] [--seconds 30] [--warmup 5] [--slot 5]
 *                            [--cold-seconds 5]
 *                            [--cos-orders 800] [--cos-concurrency 1,8,32,64]
 *                            [--only a,b,c,d,e,f] [--sandbox-rounds 5]
 *                            [--write-concurrency 16] [--chunk-size 500]
 *                            [--out FILE]
 *                            [--unsafe-no-fsync]   (d) only: files not fsync'ed — NOT durable,
 *                                                  to see what fsync costs; labelled in the row
 *
 * Needs `bash dev/kafka.sh start` and `bash dev/s3.sh start`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Kafka } from "kafkajs";
import { loadSettings } from "../config/settings.ts";
import type { CosSettings } from "../config/settings.ts";
import { createKafka } from "../clients/kafka.ts";
import { createCosClient } from "../clients/cos.ts";
import { GroupMember } from "../consumer/group_member.ts";
import { ScoringHost } from "../plugins_host/host.ts";
import { LocalSink } from "../consumer/sinks/local.ts";
import { CosSink } from "../consumer/sinks/cos.ts";
import { BatchedSink } from "../consumer/sinks/batched.ts";
import type { Sink } from "../consumer/sinks/types.ts";
import { DirectorySyncer } from "../consumer/sinks/_directory_syncer.ts";
import { LatencyHistogram } from "../core/histogram.ts";
import {
  loadNow,
  loadSpan,
  quantile,
  ratio,
  type Row,
  rowsBlock,
  runStamp,
  verdict,
  withLoad,
} from "./_report.ts";
import {
  benchArgs,
  consumerEnv,
  createTopics,
  deleteTopics,
  kafkaTool,
  machineLine,
  prefill,
  produce,
  sleep,
  spawnConsumer,
} from "./_harness.ts";

const OUT = "./data/bench";

const values = benchArgs({
  records: "100000",
  files: "10000",
  objects: "2000",
  rate: "1000",
  seconds: "30",
  warmup: "5",
  slot: "5",
  "cold-seconds": "5",
  "cos-orders": "800",
  "cos-concurrency": "1,8,32,64",
  only: "a,b,c,d,e,f",
  "sandbox-rounds": "5",
  "write-concurrency": "16",
  "chunk-size": "500",
  out: "data/bench/consumer.md",
}, ["unsafe-no-fsync"]);
const only = new Set(values.only.split(","));

type CosClient = ReturnType<typeof createCosClient>;

const settings = loadSettings({ KAFKA_BROKERS: "localhost:9092" });
function kafka(): Kafka {
  return createKafka(settings.kafka, { clientId: "bench-consumer", log: () => {} });
}

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
}

interface PipelineResult {
  readonly seconds: number;
  readonly perSecond: number;
}

interface PipelineRun extends PipelineResult {
  /**
   * Records/s from the first handled record (seen within 10 ms) to the last write; `perSecond`
   * when no record was seen before the last.
   */
  readonly steadyPerSecond: number;
}

/**
 * Runs a GroupMember in this process over a prefilled topic until every record is handled
 * (and, batched, every segment written); the clock runs from start() (connect + group join)
 * to the last write.
 */
async function pipeline(
  topic: string,
  n: number,
  sink: Sink | BatchedSink,
  host: ScoringHost,
): Promise<PipelineRun> {
  const started = performance.now();
  const member = await GroupMember.start({
    kafka: kafka(),
    topic,
    dlqTopic: `${topic}.dlq`,
    groupId: unique("bench-group"),
    sink,
    score: (orders) => host.score(orders),
    summaryIntervalMs: 0,
    writeConcurrency: Number(values["write-concurrency"]),
    chunkSize: Number(values["chunk-size"]),
    log: () => {},
  });
  const handled = () => {
    const m = member.metrics();
    return m.stored.value + m.deadLettered.value +
      (sink instanceof BatchedSink ? sink.unwrittenTotal() : 0);
  };
  // A bench never waits forever (a stalled shared server): 5 minutes plus 10 ms per record.
  const deadline = started + 300_000 + n * 10;
  let first: { at: number; handled: number } | undefined;
  while (handled() < n) {
    if (first === undefined && handled() > 0) first = { at: performance.now(), handled: handled() };
    if (performance.now() > deadline) {
      await member.stop(10_000).catch(() => undefined);
      throw new Error(`Cannot finish the pipeline run: ${handled()} of ${n} handled in time`);
    }
    await sleep(10);
  }
  if (sink instanceof BatchedSink) await sink.close(); // writes the last open segments
  const ended = performance.now();
  const seconds = (ended - started) / 1000;
  await member.stop(10_000);
  if (!(sink instanceof BatchedSink)) await sink.close();
  const steadyPerSecond = first === undefined || ended <= first.at
    ? n / seconds
    : (n - first.handled) / ((ended - first.at) / 1000);
  return { seconds, perSecond: n / seconds, steadyPerSecond };
}

async function consumerPerformance(topic: string, n: number): Promise<PipelineResult> {
  const out = await kafkaTool([
    "org.apache.kafka.tools.ConsumerPerformance",
    "--bootstrap-server",
    "localhost:9092",
    "--topic",
    topic,
    "--messages",
    String(n),
    "--group",
    unique("bench-perf"),
    "--timeout",
    "60000",
  ]);
  // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
  const line = out.trim().split("\n").at(-1)!;
  const cols = line.split(",").map((c) => c.trim());
  const perSecond = Number(cols[5]);
  return { seconds: Number(cols[4]) / perSecond, perSecond };
}

const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

async function hmac(
  key: ArrayBuffer | Uint8Array<ArrayBuffer>,
  text: string,
): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return crypto.subtle.sign("HMAC", k, new TextEncoder().encode(text));
}

/** A minimal AWS SigV4 signer for path-style S3 PUTs (UNSIGNED-PAYLOAD), for the raw baseline. */
function sigV4(accessKeyId: string, secret: string, region: string) {
  const keys = new Map<string, Promise<ArrayBuffer>>();
  const signingKey = (day: string) => {
    let k = keys.get(day);
    if (k === undefined) {
      k = (async () => {
        let key = await hmac(new TextEncoder().encode(`AWS4${secret}`), day);
        for (const part of [region, "s3", "aws4_request"]) key = await hmac(key, part);
        return key;
      })();
      keys.set(day, k);
    }
    return k;
  };
  return async (url: URL, method: string): Promise<Record<string, string>> => {
    const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      host: url.host,
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
      "x-amz-date": amzDate,
    };
    const names = Object.keys(headers).sort();
    const query = [...url.searchParams].map(([k, v]) =>
      `${encodeURIComponent(k)}=${encodeURIComponent(v)}`
    ).sort().join("&");
    const canonical = [
      method,
      url.pathname,
      query,
      ...names.map((n) => `${n}:${headers[n]}`),
      "",
      names.join(";"),
      "UNSIGNED-PAYLOAD",
    ].join("\n");
    const scope = `${day}/${region}/s3/aws4_request`;
    const digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${digest}`;
    const signature = hex(await hmac(await signingKey(day), toSign));
    return {
      ...headers,
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, ` +
        `SignedHeaders=${names.join(";")}, Signature=${signature}`,
    };
  };
}

/**
 * One file as the per-order local sink writes it: a temp file in `dir`, write, fsync, close,
 * rename to `name`, fsync of `dir` (shared with concurrent renames by `syncer`, as the sink
 * shares it). Without `sync`, no fsyncs: not durable, for comparison only.
 */
async function writeLikeTheSink(
  dir: string,
  name: string,
  body: Uint8Array,
  sync: boolean,
  syncer: DirectorySyncer,
): Promise<void> {
  const tmp = `${dir}/.${name}.tmp`;
  const file = await Deno.open(tmp, { write: true, createNew: true });
  try {
    await file.write(body);
    if (sync) await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, `${dir}/${name}`);
  if (sync) await syncer.sync(dir);
}

/**
 * The disk alone, for (d): what the per-order layout asks of the file system, at the same steady
 * rate, with no Kafka, no scoring and no JSON — create a temp file, write `body`, fsync, close,
 * rename, fsync the directory (shared by the renames that precede it, with the sink's own
 * `DirectorySyncer`). At most `maxInFlight` files are in flight, the most the pipeline can have (its
 * write concurrency per partition × partitions): piling more fsyncs onto a stalled disk makes
 * the stall worse. Each file's latency runs from the moment it was due, so time spent queued
 * behind a stalled disk counts, as it does for produce → stored. Files due in the first `warmup`
 * seconds are written but not counted. Adds to `latency` (one histogram across the slots of a
 * window); `first` numbers the files so slots never reuse a name.
 */
async function diskAlone(options: {
  dir: string;
  body: Uint8Array;
  rate: number;
  seconds: number;
  warmup: number;
  maxInFlight: number;
  sync: boolean;
  latency: LatencyHistogram;
  first: number;
}): Promise<number> {
  const { dir, body, rate, seconds, warmup, maxInFlight, sync, latency, first } = options;
  await Deno.mkdir(dir, { recursive: true });
  const syncer = new DirectorySyncer(); // the sink's own sharing of directory fsyncs
  const start = performance.now();
  const writeOne = async (i: number, due: number) => {
    await writeLikeTheSink(dir, `orderId=raw-${i}.json`, body, sync, syncer);
    if (due >= start + warmup * 1000) latency.observe(performance.now() - due);
  };
  const inFlight = new Set<Promise<void>>();
  const total = Math.round(rate * (warmup + seconds));
  for (let i = 0; i < total;) {
    const now = performance.now();
    for (; i < total && start + (i * 1000) / rate <= now && inFlight.size < maxInFlight; i++) {
      const write: Promise<void> = writeOne(first + i, start + (i * 1000) / rate)
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
    }
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    else await sleep(1);
  }
  await Promise.all(inFlight);
  return first + total;
}

/** The bytes of one order the pipeline stored under `dir` (per-order layout), if any. */
function storedSample(dir: string): Uint8Array | undefined {
  try {
    for (const day of Deno.readDirSync(`${dir}/orders`)) {
      for (const file of Deno.readDirSync(`${dir}/orders/${day.name}`)) {
        if (file.isFile) return Deno.readFileSync(`${dir}/orders/${day.name}/${file.name}`);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return undefined;
}

const rows: Row[] = [];
const notes: string[] = [];
const log = (line: string) => console.error(line);
const writeConcurrency = Number(values["write-concurrency"]);
/** The most files the pipeline can have in flight: write concurrency per partition × 6. */
const pipelineInFlight = writeConcurrency * 6;

/** A fresh bucket on the local S3 server and a client for it (dev/s3.sh writes .run/s3/s3.env). */
async function cosBucket(prefix: string) {
  const env: Record<string, string> = {};
  for (const line of Deno.readTextFileSync(".run/s3/s3.env").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m !== null) env[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
  }
  const bucket = unique(prefix).toLowerCase();
  const cos: CosSettings = {
    endpoint: env.COS_ENDPOINT!,
    bucket,
    auth: {
      kind: "hmac",
      accessKeyId: env.COS_HMAC_ACCESS_KEY_ID!,
      secretAccessKey: env.COS_HMAC_SECRET_ACCESS_KEY!,
    },
  };
  const client = createCosClient(cos);
  await client.createBucket({ Bucket: bucket }).promise();
  /**
   * Deletes every object, then the bucket, with signed `fetch` requests rather than the SDK: after
   * (e) at 64 concurrent PUTs, an SDK call from this process sometimes never returns while the
   * server answers other clients at once (see consumer_notes.md, 2026-12-06).
   */
  const sign = sigV4(env.COS_HMAC_ACCESS_KEY_ID!, env.COS_HMAC_SECRET_ACCESS_KEY!, "us-east-1");
  const call = async (method: string, url: URL) => {
    const res = await fetch(url, { method, headers: await sign(url, method) });
    const text = await res.text();
    if (!res.ok) throw new Error(`Cannot ${method} ${url.pathname}: ${res.status} ${text}`);
    return text;
  };
  const drop = async () => {
    const base = `${cos.endpoint}/${bucket}`;
    for (let round = 0; round < 1000; round++) {
      const listed = await call("GET", new URL(`${base}?list-type=2`));
      const keys = [...listed.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) =>
        m[1]!.replaceAll("&amp;", "&").replaceAll("&lt;", "<").replaceAll("&gt;", ">")
      );
      if (keys.length === 0) break;
      await lanes(keys.length, 16, (i) => {
        const path = keys[i]!.split("/").map(encodeURIComponent).join("/");
        return call("DELETE", new URL(`${base}/${path}`));
      });
    }
    await call("DELETE", new URL(base));
  };
  return { env, bucket, cos, client, drop };
}

/** `promise`, or an error naming `what` after `ms`: a bench never hangs on a shared server. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task(i)` for i in [0, n) on `concurrency` lanes; returns tasks per second. */
async function lanes(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
  return n / ((performance.now() - t) / 1000);
}

const host = await ScoringHost.start({ pluginsDir: "./plugins", watch: false, log });
try {
  // (a) batched pipeline vs ConsumerPerformance --------------------------------------------
  if (only.has("a")) {
    const n = Number(values.records);
    const topic = unique("bench-ca");
    await createTopics(topic);
    try {
      const acked = await prefill(topic, n, 7);
      log(`(a) prefilled ${acked} records`);
      const before = await loadNow();
      // Matched: same topic, same record count, both clocks include connect and group join
      // (ConsumerPerformance's nMsg.sec column; ours runs from start() to the last write).
      const java = await consumerPerformance(topic, acked);
      log(`(a) ConsumerPerformance ${java.perSecond.toFixed(0)} rec/s`);
      const dir = `${OUT}/${topic}`;
      const ours = await pipeline(
        topic,
        acked,
        new BatchedSink({ inner: new LocalSink({ dir }), log }),
        host,
      );
      const load = loadSpan(before, await loadNow());
      log(`(a) consumer batched ${ours.perSecond.toFixed(0)} rec/s`);
      await Deno.remove(dir, { recursive: true });
      rows.push({
        id: "(a) consumer, batched",
        measures: `records/s through the whole pipeline (fetch, validate, sandboxed scoring, ` +
          `enrich, batched NDJSON on local disk with fsync per object, commit), ${acked} ` +
          `prefilled records, clock from connect to the last write`,
        figure: `${ours.perSecond.toFixed(0)} rec/s`,
        baseline: `Kafka ConsumerPerformance (fetch only, no processing), same topic and count, ` +
          `clock from connect: ${java.perSecond.toFixed(0)} rec/s`,
        ratio: ratio(ours.perSecond, java.perSecond),
        target: "≥ 0.5 (issue 18)",
        verdict: verdict(ours.perSecond / java.perSecond, 0.5),
        load,
      });
    } finally {
      await deleteTopics(topic);
    }
  }

  // (f) the sandbox's cost through the consumer pipeline ------------------------------------
  if (only.has("f")) {
    const n = Number(values.records);
    const rounds = Number(values["sandbox-rounds"]);
    const topic = unique("bench-cf");
    await createTopics(topic);
    const trusted = await ScoringHost.start({
      pluginsDir: "./plugins",
      watch: false,
      log,
      isolation: "in-process",
    });
    try {
      const acked = await prefill(topic, n, 7);
      const before = await loadNow();
      const runs = { sandboxed: [] as number[], "in-process": [] as number[] };
      for (let round = 0; round < rounds; round++) {
        // Each round starts with the other configuration, so a change of load falls on both.
        const modes = round % 2 === 0
          ? (["sandboxed", "in-process"] as const)
          : (["in-process", "sandboxed"] as const);
        for (const mode of modes) {
          const dir = `${OUT}/${topic}-${mode}-${round}`;
          const result = await pipeline(
            topic,
            acked,
            new BatchedSink({ inner: new LocalSink({ dir }), log }),
            mode === "sandboxed" ? host : trusted,
          );
          await Deno.remove(dir, { recursive: true });
          runs[mode].push(result.steadyPerSecond);
          log(`(f) round ${round + 1}: ${mode} ${result.steadyPerSecond.toFixed(0)} rec/s`);
        }
      }
      const load = loadSpan(before, await loadNow());
      const sandboxed = quantile(runs.sandboxed, 0.5);
      const inProcess = quantile(runs["in-process"], 0.5);
      rows.push({
        id: "(f) sandbox cost, consumer pipeline",
        measures: `records/s through the (a) pipeline with the shipped scorers sandboxed (one ` +
          `process per plugin), ${acked} prefilled records, clock from the first handled ` +
          `record to the last write; median of ${rounds} rounds alternating with the baseline`,
        figure: `${sandboxed.toFixed(0)} rec/s`,
        baseline: `the same pipeline, same topic, the same scorers called in-process: ` +
          `${inProcess.toFixed(0)} rec/s`,
        ratio: ratio(sandboxed, inProcess),
        target: "≥ 0.9 (issue 13)",
        verdict: verdict(sandboxed / inProcess, 0.9),
        load,
      });
      const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
      notes.push(
        `(f) every round, rec/s: sandboxed ${list(runs.sandboxed)}; in-process ` +
          `${list(runs["in-process"])}.`,
      );
    } finally {
      await trusted.close();
      await deleteTopics(topic);
    }
  }

  // (b) per-order pipeline vs the same file-system work at the same concurrency -------------
  if (only.has("b")) {
    const n = Number(values.files);
    const topic = unique("bench-cb");
    await createTopics(topic);
    const dir = `${OUT}/${topic}`;
    try {
      const acked = await prefill(topic, n, 7);
      const before = await loadNow();
      const ours = await pipeline(topic, acked, new LocalSink({ dir }), host);
      log(`(b) consumer per-order ${ours.perSecond.toFixed(0)} rec/s`);
      // The same bytes under the same names, as many files in flight as the pipeline allows,
      // each made durable as the sink does (file fsync, rename, shared directory fsync).
      const files: { path: string; body: Uint8Array }[] = [];
      for (const d of Deno.readDirSync(`${dir}/orders`)) {
        for (const f of Deno.readDirSync(`${dir}/orders/${d.name}`)) {
          const path = `orders/${d.name}/${f.name}`;
          files.push({ path, body: Deno.readFileSync(`${dir}/${path}`) });
        }
      }
      const raw = async (sync: boolean) => {
        const rawDir = `${OUT}/${topic}-raw${sync ? "" : "-nosync"}`;
        const made = new Map<string, Promise<void>>();
        const syncer = new DirectorySyncer();
        const perSecond = await lanes(files.length, pipelineInFlight, async (i) => {
          const { path, body } = files[i]!;
          const cut = path.lastIndexOf("/");
          const parent = `${rawDir}/${path.slice(0, cut)}`;
          let ready = made.get(parent);
          if (ready === undefined) {
            ready = Deno.mkdir(parent, { recursive: true });
            made.set(parent, ready);
          }
          await ready;
          await writeLikeTheSink(parent, path.slice(cut + 1), body, sync, syncer);
        });
        await Deno.remove(rawDir, { recursive: true });
        return perSecond;
      };
      const rawSync = await raw(true);
      const load = loadSpan(before, await loadNow());
      const rawNoSync = await raw(false);
      log(`(b) raw loop ${rawSync.toFixed(0)} files/s (fsync), ${rawNoSync.toFixed(0)} (no fsync)`);
      rows.push({
        id: "(b) consumer, per-order, local disk",
        measures: `records/s through the whole pipeline, one file per order (temp file, write, ` +
          `fsync, rename, directory fsync), ${acked} prefilled records, write concurrency ` +
          `${writeConcurrency} per partition × 6`,
        figure: `${ours.perSecond.toFixed(0)} rec/s`,
        baseline: `the sink's file-system work alone on the same bytes and names, ` +
          `${pipelineInFlight} files in flight: ${rawSync.toFixed(0)} files/s`,
        ratio: ratio(ours.perSecond, rawSync),
        target: "≥ 0.5",
        verdict: verdict(ours.perSecond / rawSync, 0.5),
        load,
      });
      notes.push(
        `(b) the same loop without fsync: ${rawNoSync.toFixed(0)} files/s ` +
          `(pipeline / that = ${ratio(ours.perSecond, rawNoSync)}); the consumer always fsyncs ` +
          "before it reports a file durable.",
      );
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => undefined);
      await deleteTopics(topic);
    }
  }

  // (c) COS sink vs raw concurrent PUTs -------------------------------------------------------
  if (only.has("c")) {
    const n = Number(values.objects);
    const { env, bucket, cos, client, drop } = await cosBucket("bench-cc");
    const concurrency = 32;
    const sign = sigV4(env.COS_HMAC_ACCESS_KEY_ID!, env.COS_HMAC_SECRET_ACCESS_KEY!, "us-east-1");
    const enc = new TextEncoder();
    const bodies = Array.from({ length: n }, (_, i) =>
      enc.encode(
        JSON.stringify({
          orderId: `ord-${i}`,
          customerId: `cust-${i % 97}`,
          channel: "web",
          items: [{ sku: "SKU-1", quantity: 2, unit_price: 10.5 }],
          total: 21,
          currency: "USD",
          created_at: "2026-11-26T20:00:00.000Z",
          consumed_at: "2026-11-26T20:00:00.020Z",
          latency_ms: 12,
          risk_score: 0.021,
          scorer: "web",
        }) + "\n",
      ));
    const keyOf = (i: number) => `orders/dt=2026-11-26/orderId=ord-${i}.json`;
    // One round of each writer over the same bodies and keys: the COS sink, then the SDK loop.
    const sinkThenSdk = async (client: CosClient, cos: CosSettings) => {
      const sink = new CosSink({ client, cos, concurrency });
      const t = performance.now();
      await Promise.all(
        bodies.map((body, i) => sink.write(keyOf(i), body, { partition: 0, offset: String(i) })),
      );
      const sinkRate = n / ((performance.now() - t) / 1000);
      const sdkRate = await lanes(n, concurrency, (i) =>
        client.putObject({
          Bucket: bucket,
          Key: keyOf(i),
          Body: Buffer.from(bodies[i]!),
          ContentType: "application/json",
        }).promise());
      return { sink: sinkRate, sdk: sdkRate };
    };
    try {
      const runs: Record<string, number[]> = { sink: [], sdk: [], fetch: [] };
      const before = await loadNow();
      for (let round = 0; round < 2; round++) {
        const r = await sinkThenSdk(client, cos);
        runs.sink!.push(r.sink);
        runs.sdk!.push(r.sdk);
        runs.fetch!.push(
          await lanes(n, concurrency, async (i) => {
            const path = keyOf(i).split("/").map(encodeURIComponent).join("/");
            const url = new URL(`${cos.endpoint}/${bucket}/${path.replaceAll("=", "%3D")}`);
            const res = await fetch(url, {
              method: "PUT",
              body: bodies[i]!,
              headers: { ...(await sign(url, "PUT")), "content-type": "application/json" },
            });
            await res.body?.cancel();
            if (!res.ok) throw new Error(`Cannot PUT: ${res.status}`);
          }),
        );
      }
      const load = loadSpan(before, await loadNow());
      const best = (xs: number[]) => Math.max(...xs);
      const [sink, sdk, raw] = [best(runs.sink!), best(runs.sdk!), best(runs.fetch!)];
      log(`(c) sink ${sink.toFixed(0)}, sdk ${sdk.toFixed(0)}, fetch ${raw.toFixed(0)} PUT/s`);
      rows.push({
        id: "(c) COS sink",
        measures: `PUT/s of the COS sink alone (no Kafka), ${n} objects of ~300 B, ` +
          `${concurrency} concurrent, local S3 server; best of 2 rounds, both sides`,
        figure: `${sink.toFixed(0)} PUT/s`,
        baseline: `ibm-cos-sdk putObject loop, same bodies, same concurrency: ` +
          `${sdk.toFixed(0)} PUT/s`,
        ratio: ratio(sink, sdk),
        target: "≥ 0.8",
        verdict: verdict(sink / sdk, 0.8),
        load,
      });
      // The same comparison in IAM mode: bearer tokens through dev/iam_front.ts (which checks the
      // token, re-signs and forwards), for the sink and the SDK loop alike.
      const iamCos: CosSettings = {
        endpoint: env.COS_IAM_ENDPOINT!,
        bucket,
        auth: {
          kind: "iam",
          apiKey: env.COS_API_KEY!,
          serviceInstanceId: env.COS_INSTANCE_ID!,
          authEndpoint: env.COS_AUTH_ENDPOINT!,
        },
      };
      const iamClient = createCosClient(iamCos);
      const iamRuns: Record<string, number[]> = { sink: [], sdk: [] };
      const iamBefore = await loadNow();
      for (let round = 0; round < 2; round++) {
        const r = await sinkThenSdk(iamClient, iamCos);
        iamRuns.sink!.push(r.sink);
        iamRuns.sdk!.push(r.sdk);
      }
      const [iamSink, iamSdk] = [best(iamRuns.sink!), best(iamRuns.sdk!)];
      log(`(c) IAM: sink ${iamSink.toFixed(0)}, sdk ${iamSdk.toFixed(0)} PUT/s`);
      rows.push({
        id: "(c) COS sink, IAM",
        measures: `as (c), in IAM mode: bearer tokens checked by the local IAM front, which ` +
          `re-signs and forwards to the same S3 server`,
        figure: `${iamSink.toFixed(0)} PUT/s`,
        baseline: `ibm-cos-sdk putObject loop, IAM mode, same bodies, same concurrency: ` +
          `${iamSdk.toFixed(0)} PUT/s`,
        ratio: ratio(iamSink, iamSdk),
        target: "≥ 0.8",
        verdict: verdict(iamSink / iamSdk, 0.8),
        load: loadSpan(iamBefore, await loadNow()),
      });
      notes.push(
        `(c) a plain \`fetch\` PUT loop signed with a minimal SigV4 signer (UNSIGNED-PAYLOAD), ` +
          `same concurrency — the cheapest client possible: ` +
          `${raw.toFixed(0)} PUT/s; COS sink / that = ${ratio(sink, raw)}.`,
      );
    } finally {
      await within(drop(), 120_000, `removing bucket ${bucket}`).catch((e) => log(`(c) ${e}`));
    }
  }

  // (d) produce → stored latency at a steady rate, the disk alone in the same window ---------
  if (only.has("d")) {
    const seconds = Number(values.seconds);
    const warmup = Number(values.warmup);
    const slot = Math.min(Number(values.slot), seconds);
    const slots = Math.max(1, Math.round(seconds / slot));
    const sync = !values["unsafe-no-fsync"];
    const steady = async (topic: string, rate: number, duration: number) =>
      (await produce(["--topic", topic, "--rate", String(rate), "--duration", String(duration)]))
        .acked;
    // Cold start: a consumer process started just before producing (issue 17). It is started,
    // its /readyz polled until 200, then the first `--cold-seconds` of orders at the first rate
    // are produced; its shutdown summary line holds the p99 of exactly those orders.
    if (Number(values["cold-seconds"]) > 0) {
      const rate = Number(values.rate.split(",")[0]);
      const seconds = Number(values["cold-seconds"]);
      const topic = unique("bench-cs");
      await createTopics(topic);
      const dir = `${OUT}/${topic}`;
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      try {
        const before = await loadNow();
        const spawned = performance.now();
        let summary = "";
        const child = spawnConsumer({
          flags: ["-P=consume"],
          args: ["--summary-interval", "0"],
          env: consumerEnv(topic, unique("bench-cold"), dir, {
            SINK_LAYOUT: "per-order",
            HTTP_HOST: "127.0.0.1",
            HTTP_PORT: String(port),
          }),
          onLine: (l) => {
            if (l.includes("stored=")) summary = l;
          },
        });
        let readyMs = NaN;
        for (const until = Date.now() + 60_000; Date.now() < until;) {
          const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
            .then(async (r) => (await r.body?.cancel(), r.ok), () => false);
          if (ok) {
            readyMs = performance.now() - spawned;
            break;
          }
          await sleep(50);
        }
        const acked = await steady(topic, rate, seconds);
        // Stored count from the files: the process's summary is printed at shutdown only.
        const count = () => {
          try {
            let n = 0;
            for (const d of Deno.readDirSync(`${dir}/orders`)) {
              for (const f of Deno.readDirSync(`${dir}/orders/${d.name}`)) {
                if (f.name.endsWith(".json") && !f.name.startsWith(".")) n++;
              }
            }
            return n;
          } catch {
            return 0;
          }
        };
        for (const until = Date.now() + 30_000; count() < acked && Date.now() < until;) {
          await sleep(100);
        }
        await child.stop();
        const load = loadSpan(before, await loadNow());
        const m = /stored=(\d+).*latency_ms p50=(\S+) p95=(\S+) p99=(\S+)/.exec(summary);
        const p99 = Number(m?.[4]);
        log(`(d) cold start: ready after ${readyMs.toFixed(0)} ms; ${summary}`);
        rows.push({
          id: "(d) cold start",
          measures: `produce→stored p99 of the first ${seconds} s of orders at ${rate}/s ` +
            `(${m?.[1] ?? "?"} stored of ${acked}; whole ms, from the consumer's shutdown ` +
            `summary line), per-order layout, local disk, from a ` +
            `consumer process started just before; producing starts when its /readyz answers ` +
            `(${readyMs.toFixed(0)} ms after the spawn)`,
          figure: `p99 ${m?.[4] ?? "?"} ms (p50 ${m?.[2] ?? "?"}, p95 ${m?.[3] ?? "?"})`,
          baseline: "- (the warm (d) row below, same run)",
          ratio: "-",
          target: "p99 ≤ 100 ms (issue 17, the demo's target)",
          verdict: verdict(p99, 100, false),
          load,
        });
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => undefined);
        await deleteTopics(topic);
      }
    }
    for (const rate of values.rate.split(",").map(Number)) {
      const topic = unique("bench-cd");
      await createTopics(topic);
      const dir = `${OUT}/${topic}`;
      const groupId = unique("bench-group");
      const startWorker = async () => {
        const member = await GroupMember.start({
          kafka: kafka(),
          topic,
          dlqTopic: `${topic}.dlq`,
          groupId,
          sink: new LocalSink({ dir, sync }),
          score: (orders) => host.score(orders),
          summaryIntervalMs: 0,
          writeConcurrency,
          chunkSize: Number(values["chunk-size"]),
          log: () => {},
        });
        while (member.metrics().groupJoins.value === 0) {
          await sleep(50);
        }
        return member;
      };
      const drain = async (member: GroupMember, n: number) => {
        const until = Date.now() + 30_000;
        while (member.metrics().stored.value < n && Date.now() < until) {
          await sleep(20);
        }
      };
      try {
        // Warm-up: the same pipeline in this process (JIT, scorer workers, connections) at the
        // same rate; its records are stored and committed, then a fresh member of the same group
        // (fresh metrics) takes over for the measured window. Warm-up latency is reported too.
        let warm = "";
        if (warmup > 0) {
          const w = await startWorker();
          await drain(w, await steady(topic, rate, warmup));
          const ws = w.metrics().latency.ms.summary();
          await w.stop(10_000);
          warm = `; warm-up ${warmup} s before it (${ws.count} orders, not in the figure): ` +
            `p99 ${ws.p99.toFixed(1)} ms, max ${ws.max.toFixed(0)}`;
        }
        const member = await startWorker();
        // The disk alone: one histogram over its slots, the same estimator as the pipeline's.
        const disk = new LatencyHistogram({ name: "disk_alone_ms", help: "disk alone, ms" });
        const diskDir = `${dir}-disk-alone`;
        let body: Uint8Array | undefined;
        let next = 0;
        const diskSlot = async (duration: number, warm: number) => {
          body ??= storedSample(dir) ??
            new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(400) }));
          next = await diskAlone({
            dir: diskDir,
            body,
            rate,
            seconds: duration,
            warmup: warm,
            maxInFlight: pipelineInFlight,
            sync,
            latency: disk,
            first: next,
          });
        };
        if (warmup > 0) await diskSlot(0, warmup); // its own warm-up, not counted
        // Interleaved: pipeline slot, disk-alone slot, … so that both sample the same minute
        // of this disk (its stalls come and go within a minute). While the disk alone runs the
        // pipeline is idle (its producer has stopped and every order is stored).
        const before = await loadNow();
        let acked = 0;
        for (let k = 0; k < slots; k++) {
          acked += await steady(topic, rate, slot);
          await drain(member, acked);
          await diskSlot(slot, 0);
        }
        const load = loadSpan(before, await loadNow());
        const s = member.metrics().latency.ms.summary();
        const d = disk.summary();
        // More than one join means a rebalance paused consumption inside the measured window.
        const joins = member.metrics().groupJoins.value;
        await member.stop(10_000);
        const limit = Math.max(25, d.p99 + 10);
        log(
          `(d) ${rate}/s: ${s.count} stored; p50 ${s.p50} p95 ${s.p95} p99 ${s.p99} ms; ` +
            `disk alone p99 ${d.p99.toFixed(1)} ms; limit ${limit.toFixed(1)} (load ${load}; ` +
            `group joins ${joins})${warm}`,
        );
        // Context: the Java client's produce → consume round trip on the same broker.
        const e2e = await kafkaTool([
          "org.apache.kafka.tools.EndToEndLatency",
          "localhost:9092",
          topic,
          "2000",
          "all",
          "400",
        ]);
        const p = /Percentiles: 50th = ([\d.]+), 99th = ([\d.]+), 99\.9th = ([\d.]+)/.exec(e2e);
        const avg = /Avg latency: ([\d.]+) ms/.exec(e2e);
        const q = (x: { p50: number; p95: number; max: number }) =>
          `p50 ${x.p50.toFixed(1)}, p95 ${x.p95.toFixed(1)}, max ${x.max.toFixed(0)}`;
        rows.push({
          id: `(d) latency, ${rate}/s`,
          measures:
            `produce→stored p99, per-order layout, local disk${
              sync ? "" : " WITHOUT fsync (not durable, comparison only)"
            }, ${rate} orders/s, ${slots} slots of ${slot} s (${s.count} orders) after a ` +
            `${warmup} s warm-up, interleaved with the disk alone`,
          figure: `p99 ${s.p99.toFixed(1)} ms (${q(s)})`,
          baseline: `the disk alone (temp file, write, fsync, rename, directory fsync at ` +
            `${rate}/s, ≤ ${pipelineInFlight} in flight, no Kafka) in ${slots} slots between ` +
            `the pipeline's: p99 ${d.p99.toFixed(1)} ms (${q(d)})`,
          ratio: "-",
          target: `p99 ≤ max(25, disk p99 + 10) = ${limit.toFixed(1)} ms`,
          verdict: verdict(s.p99, limit, false),
          load,
        });
        notes.push(
          `(d) ${rate}/s: Kafka EndToEndLatency (Java, one record at a time, acks=all, no sink) ` +
            `on the same broker: p99 ${p?.[2] ?? "?"} ms (p50 ${p?.[1] ?? "?"}, avg ${
              avg?.[1] ?? "?"
            }); group joins of the measured member ${joins} (1 = no rebalance)${warm}.`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => undefined);
        await Deno.remove(`${dir}-disk-alone`, { recursive: true }).catch(() => undefined);
        await deleteTopics(topic);
      }
    }
  }

  // (e) per-order layout on COS: throughput against PUT concurrency ------------------------
  if (only.has("e")) {
    const n = Number(values["cos-orders"]);
    const topic = unique("bench-ce");
    await createTopics(topic);
    const bucket = await cosBucket("bench-ce");
    const curve: string[] = ["put_concurrency,pipeline_orders_per_s,putobject_loop_per_s,ratio"];
    try {
      const acked = await prefill(topic, n, 7);
      let body: Uint8Array | undefined;
      for (const concurrency of values["cos-concurrency"].split(",").map(Number)) {
        const { value, load } = await withLoad(async () => {
          const ours = await pipeline(
            topic,
            acked,
            new CosSink({ client: bucket.client, cos: bucket.cos, concurrency }),
            host,
          );
          // One object the pipeline stored: the baseline PUTs bodies of the same size.
          if (body === undefined) {
            const listed = await bucket.client.listObjectsV2({ Bucket: bucket.bucket, MaxKeys: 1 })
              .promise();
            const key = listed.Contents?.[0]?.Key;
            const got = key === undefined
              ? undefined
              : await bucket.client.getObject({ Bucket: bucket.bucket, Key: key }).promise();
            body = got?.Body === undefined
              ? new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(400) }))
              : new Uint8Array(got.Body as Uint8Array);
          }
          const b = body;
          const raw = await lanes(acked, concurrency, (i) =>
            bucket.client.putObject({
              Bucket: bucket.bucket,
              Key: `raw/dt=2026-12-06/orderId=raw-${i}.json`,
              Body: Buffer.from(b),
              ContentType: "application/json",
            }).promise());
          return { ours: ours.perSecond, raw };
        });
        log(
          `(e) PUT concurrency ${concurrency}: pipeline ${value.ours.toFixed(0)} orders/s, ` +
            `putObject loop ${value.raw.toFixed(0)}/s`,
        );
        curve.push(
          `${concurrency},${value.ours.toFixed(1)},${value.raw.toFixed(1)},` +
            `${ratio(value.ours, value.raw)}`,
        );
        rows.push({
          id: `(e) consumer, per-order, COS, PUT concurrency ${concurrency}`,
          measures: `orders/s through the whole pipeline into the local S3 server, one object ` +
            `per order, COS sink concurrency ${concurrency}, ${acked} prefilled orders, clock ` +
            `from connect to the last PUT`,
          figure: `${value.ours.toFixed(0)} orders/s`,
          baseline: `ibm-cos-sdk putObject loop, ${concurrency} concurrent, same body size: ` +
            `${value.raw.toFixed(0)} PUT/s`,
          ratio: ratio(value.ours, value.raw),
          target: "- (curve: issue 18 asks for the default to be chosen from it)",
          verdict: "-",
          load,
        });
      }
    } finally {
      await within(bucket.drop(), 120_000, `removing bucket ${bucket.bucket}`)
        .catch((e) => log(`(e) ${e}`));
      await deleteTopics(topic);
    }
    const csv = values.out.replace(/\.md$/, "") + "_cos_curve.csv";
    await Deno.writeTextFile(csv, curve.join("\n") + "\n");
    notes.push(
      `(e) the curve as CSV: \`${csv.split("/").at(-1)}\` beside this file ` +
        `(the COS sink's default concurrency today: 32).`,
    );
  }
} finally {
  await host.close();
}

const report = `# Consumer benchmark

Generated by \`bench/consumer_bench.ts\` (${runStamp()}); never edit by hand.

- Machine: ${await machineLine()} — shared with other work while measuring; each row carries the
  load average (1 min) before → after its measurement.
- Broker: local Kafka (dev/kafka.sh), PLAINTEXT localhost:9092, fresh 6-partition topics
  prefilled with the producer CLI (synthetic orders, ~300 B). S3: the local server (dev/s3.sh).
- Pipeline runs: a \`GroupMember\` in the bench process with the real scoring host (each
  plugin sandboxed in its own process), write concurrency ${writeConcurrency} per partition, chunk size
  ${values["chunk-size"]}; the clock includes connect and group join.

${rowsBlock(rows)}

${notes.map((n) => `- ${n}`).join("\n")}

What the figures mean, what was tried and where the latency goes: [consumer_notes.md](consumer_notes.md)
(hand-written, it names the runs it discusses; this file is regenerated on every run).
`;
console.log(report);
await Deno.mkdir(values.out.replace(/\/[^/]*$/, ""), { recursive: true }).catch(() => undefined);
await Deno.writeTextFile(values.out, report);
log(`wrote ${values.out}`);
