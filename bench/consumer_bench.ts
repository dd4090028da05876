/**
 * Consumer benchmarks, each against a baseline measured in the same run on the same machine:
 *
 * - (a) the consumer pipeline (fetch → validate → sandboxed scoring → enrich → batched NDJSON on
 *   local disk → commit) vs Kafka's `ConsumerPerformance` (Java client, fetch only) on the same
 *   prefilled topic;
 * - (b) the pipeline with the per-order layout on local disk vs a plain create + write + fsync +
 *   rename loop writing the same bytes (same durability policy);
 * - (c) the COS sink vs raw concurrent PUT loops (the SDK directly; SigV4-signed `fetch`) with the
 *   same concurrency against the same S3 server;
 * - (d) produce → stored latency at a steady 1,000 orders/s, next to Kafka's `EndToEndLatency` and
 *   the disk alone (the per-order layout's file-system work at the same rate, no Kafka).
 *
 * Topics are prefilled with the producer CLI. Writes the results to `bench/consumer.md`.
 *
 *   deno task bench:consumer [--records 100000] [--files 10000] [--objects 2000]
 *                            [--rate 1000[,200...]] [--seconds 30] [--warmup 5]
 *                            [--only a,b,c,d]
 *                            [--write-concurrency 16] [--chunk-size 500] [--no-write]
 *                            [--unsafe-no-fsync]   (d) only: files not fsync'ed — NOT durable,
 *                                                  to see what fsync costs; labelled in the row
 *
 * Needs `bash dev/kafka.sh start` and `bash dev/s3.sh start`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Buffer } from "node:buffer";
import type { Kafka } from "kafkajs";
import { loadSettings } from "../config/settings.ts";
import type { CosSettings } from "../config/settings.ts";
import { createKafka } from "../config/kafka.ts";
import { createCosClient } from "../config/cos.ts";
import { ConsumerWorker } from "../consumer/worker.ts";
import { ScoringHost } from "../plugins_host/host.ts";
import { LocalSink } from "../consumer/sinks/local.ts";
import { CosSink } from "../consumer/sinks/cos.ts";
import { BatchedSink } from "../consumer/sinks/batched.ts";
import type { Sink } from "../consumer/sinks/types.ts";
import { DirectorySyncer } from "../consumer/sinks/_directory_syncer.ts";
import { LatencyHistogram, type LatencySummary } from "../core/histogram.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = "./data/bench";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    records: { type: "string", default: "100000" },
    files: { type: "string", default: "10000" },
    objects: { type: "string", default: "2000" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "30" },
    warmup: { type: "string", default: "5" },
    only: { type: "string", default: "a,b,c,d" },
    "write-concurrency": { type: "string", default: "16" },
    "chunk-size": { type: "string", default: "500" },
    "no-write": { type: "boolean", default: false },
    "unsafe-no-fsync": { type: "boolean", default: false },
  },
});
const only = new Set(values.only.split(","));

async function command(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
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

const settings = loadSettings({ KAFKA_BROKERS: "localhost:9092" });
function kafka(): Kafka {
  return createKafka(settings.kafka, { clientId: "bench-consumer", log: () => {} });
}

async function withAdmin<T>(f: (admin: ReturnType<Kafka["admin"]>) => Promise<T>): Promise<T> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect();
  }
}

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
}

async function createTopics(topic: string): Promise<void> {
  await withAdmin((a) =>
    a.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 6 }, { topic: `${topic}.dlq`, numPartitions: 1 }],
    })
  );
}

async function deleteTopics(topic: string): Promise<void> {
  await withAdmin((a) => a.deleteTopics({ topics: [topic, `${topic}.dlq`] }));
}

/** Prefills with the producer CLI; returns the records acknowledged. */
async function prefill(topic: string, count: number): Promise<number> {
  const r = await command(Deno.execPath(), [
    "run",
    "-P=produce",
    "producer/main.ts",
    "--topic",
    topic,
    "--count",
    String(count),
    "--seed",
    "7",
    "--json",
  ]);
  if (r.code !== 0) throw new Error(`Cannot prefill ${topic}: exit ${r.code}\n${r.err}`);
  const summary = JSON.parse(r.out.trim().split("\n").at(-1)!);
  return Number(summary.acked ?? count);
}

interface PipelineResult {
  readonly seconds: number;
  readonly perSecond: number;
}

/**
 * Runs a ConsumerWorker in this process over a prefilled topic until every record is handled
 * (and, batched, every segment written); the clock runs from start() (connect + group join)
 * to the last write.
 */
async function pipeline(
  topic: string,
  n: number,
  sink: Sink | BatchedSink,
  host: ScoringHost,
): Promise<PipelineResult> {
  const started = performance.now();
  const worker = await ConsumerWorker.start({
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
    const m = worker.metrics();
    return m.stored.value + m.deadLettered.value +
      (sink instanceof BatchedSink ? sink.unwrittenTotal() : 0);
  };
  while (handled() < n) await new Promise((r) => setTimeout(r, 10));
  if (sink instanceof BatchedSink) await sink.close(); // writes the last open segments
  const seconds = (performance.now() - started) / 1000;
  await worker.stop(10_000);
  if (!(sink instanceof BatchedSink)) await sink.close();
  return { seconds, perSecond: n / seconds };
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
    const canonical = [
      method,
      url.pathname,
      "",
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

function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}

function verdict(value: number, target: number, atLeast = true): string {
  const met = atLeast ? value >= target : value <= target;
  return `${met ? "met" : "MISSED"} (target ${atLeast ? ">=" : "<="} ${target})`;
}

/**
 * The disk alone, for (d): what the per-order layout asks of the file system, at the same steady
 * rate, with no Kafka, no scoring and no JSON — create a temp file, write `body`, fsync, close,
 * rename, fsync the directory (shared by the renames that precede it, with the sink's own
 * `DirectorySyncer`). At most `maxInFlight` files are in flight, the most the pipeline can have (its
 * write concurrency per partition × partitions): piling more fsyncs onto a stalled disk makes
 * the stall worse. Each file's latency runs from the moment it was due, so time spent queued
 * behind a stalled disk counts, as it does for produce → stored. The first `warmup` seconds are
 * written but not counted (the pipeline gets the same warm-up).
 */
async function diskAlone(
  dir: string,
  body: Uint8Array,
  rate: number,
  seconds: number,
  warmup: number,
  maxInFlight: number,
): Promise<LatencySummary> {
  await Deno.mkdir(dir, { recursive: true });
  // The pipeline's figure comes from the same histogram, so the two quantiles compare like for like.
  const latency = new LatencyHistogram({ name: "disk_alone_ms", help: "disk alone, ms" });
  const syncer = new DirectorySyncer(); // the sink's own sharing of directory fsyncs
  const start = performance.now();
  const writeOne = async (i: number, due: number) => {
    const tmp = `${dir}/.orderId=raw-${i}.json.tmp`;
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      await file.write(body);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, `${dir}/orderId=raw-${i}.json`);
    await syncer.sync(dir);
    if (due >= start + warmup * 1000) latency.observe(performance.now() - due);
  };
  const inFlight = new Set<Promise<void>>();
  const total = Math.round(rate * (warmup + seconds));
  for (let i = 0; i < total;) {
    const now = performance.now();
    for (; i < total && start + (i * 1000) / rate <= now && inFlight.size < maxInFlight; i++) {
      const write: Promise<void> = writeOne(i, start + (i * 1000) / rate)
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
    }
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    else await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  return latency.summary();
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

const rows: string[] = [];
const notes: string[] = [];
const log = (line: string) => console.error(line);

const host = await ScoringHost.start({ pluginsDir: "./plugins", watch: false, log });
try {
  // (a) batched pipeline vs ConsumerPerformance --------------------------------------------
  if (only.has("a")) {
    const n = Number(values.records);
    const topic = unique("bench-ca");
    await createTopics(topic);
    try {
      const acked = await prefill(topic, n);
      log(`(a) prefilled ${acked} records`);
      const java = await consumerPerformance(topic, acked);
      log(`(a) ConsumerPerformance ${java.perSecond.toFixed(0)} rec/s`);
      const dir = `${OUT}/${topic}`;
      const ours = await pipeline(
        topic,
        acked,
        new BatchedSink({ inner: new LocalSink({ dir }), log }),
        host,
      );
      log(`(a) consumer batched ${ours.perSecond.toFixed(0)} rec/s`);
      await Deno.remove(dir, { recursive: true });
      const r = ours.perSecond / java.perSecond;
      rows.push(
        `| (a) pipeline, batched layout, local disk (${acked} records, fsync per object) | ` +
          `${ours.perSecond.toFixed(0)} rec/s | Kafka ConsumerPerformance (fetch only) ` +
          `${java.perSecond.toFixed(0)} rec/s | ${ratio(ours.perSecond, java.perSecond)} | ` +
          `${verdict(r, 0.25)} |`,
      );
    } finally {
      await deleteTopics(topic);
    }
  }

  // (b) per-order pipeline vs raw create+write+fsync+rename loop ------------------------------
  if (only.has("b")) {
    const n = Number(values.files);
    const topic = unique("bench-cb");
    await createTopics(topic);
    const dir = `${OUT}/${topic}`;
    try {
      const acked = await prefill(topic, n);
      const ours = await pipeline(topic, acked, new LocalSink({ dir }), host);
      log(`(b) consumer per-order ${ours.perSecond.toFixed(0)} rec/s`);
      // The same bytes, the same names, one at a time.
      const files: { path: string; body: Uint8Array }[] = [];
      for (const d of Deno.readDirSync(`${dir}/orders`)) {
        for (const f of Deno.readDirSync(`${dir}/orders/${d.name}`)) {
          const path = `orders/${d.name}/${f.name}`;
          files.push({ path, body: Deno.readFileSync(`${dir}/${path}`) });
        }
      }
      const raw = async (sync: boolean) => {
        const rawDir = `${OUT}/${topic}-raw${sync ? "" : "-nosync"}`;
        const made = new Set<string>();
        const t = performance.now();
        for (const { path, body } of files) {
          const cut = path.lastIndexOf("/");
          const parent = `${rawDir}/${path.slice(0, cut)}`;
          if (!made.has(parent)) {
            await Deno.mkdir(parent, { recursive: true });
            made.add(parent);
          }
          const tmp = `${parent}/.${path.slice(cut + 1)}.tmp`;
          const file = await Deno.open(tmp, { write: true, createNew: true });
          await file.write(body);
          if (sync) await file.sync();
          file.close();
          await Deno.rename(tmp, `${rawDir}/${path}`);
        }
        const perSecond = files.length / ((performance.now() - t) / 1000);
        await Deno.remove(rawDir, { recursive: true });
        return perSecond;
      };
      const rawSync = await raw(true);
      const rawNoSync = await raw(false);
      log(`(b) raw loop ${rawSync.toFixed(0)} files/s (fsync), ${rawNoSync.toFixed(0)} (no fsync)`);
      rows.push(
        `| (b) pipeline, per-order layout, local disk (${acked} files, fsync each) | ` +
          `${ours.perSecond.toFixed(0)} rec/s | create+write+fsync+rename loop, same bytes ` +
          `${rawSync.toFixed(0)} files/s | ${ratio(ours.perSecond, rawSync)} | ` +
          `${verdict(ours.perSecond / rawSync, 0.5)} |`,
      );
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
    const env: Record<string, string> = {};
    for (const line of Deno.readTextFileSync(".run/s3/s3.env").split("\n")) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m !== null) env[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
    }
    const bucket = unique("bench-cc").toLowerCase();
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
    const lanes = async (task: (i: number) => Promise<unknown>) => {
      let next = 0;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < n) await task(next++);
        }),
      );
      return n / ((performance.now() - t) / 1000);
    };
    try {
      const runs: Record<string, number[]> = { sink: [], sdk: [], fetch: [] };
      for (let round = 0; round < 2; round++) {
        const sink = new CosSink({ client, cos, concurrency });
        const t = performance.now();
        await Promise.all(
          bodies.map((body, i) => sink.write(keyOf(i), body, { partition: 0, offset: String(i) })),
        );
        runs.sink!.push(n / ((performance.now() - t) / 1000));
        runs.sdk!.push(
          await lanes((i) =>
            client.putObject({
              Bucket: bucket,
              Key: keyOf(i),
              Body: Buffer.from(bodies[i]!),
              ContentType: "application/json",
            }).promise()
          ),
        );
        runs.fetch!.push(
          await lanes(async (i) => {
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
      const best = (xs: number[]) => Math.max(...xs);
      const [sink, sdk, raw] = [best(runs.sink!), best(runs.sdk!), best(runs.fetch!)];
      log(`(c) sink ${sink.toFixed(0)}, sdk ${sdk.toFixed(0)}, fetch ${raw.toFixed(0)} PUT/s`);
      rows.push(
        `| (c) COS sink, ${n} PUTs, ${concurrency} concurrent (best of 2) | ${
          sink.toFixed(0)
        } PUT/s | ` +
          `ibm-cos-sdk putObject loop, same concurrency ${sdk.toFixed(0)} PUT/s | ` +
          `${ratio(sink, sdk)} | ${verdict(sink / sdk, 0.8)} |`,
      );
      notes.push(
        `(c) a plain \`fetch\` PUT loop signed with a minimal SigV4 signer (UNSIGNED-PAYLOAD), ` +
          `same concurrency — the cheapest client possible: ` +
          `${raw.toFixed(0)} PUT/s; COS sink / that = ${ratio(sink, raw)}.`,
      );
    } finally {
      // Objects were overwritten each round: n keys to delete.
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < n) {
            await client.deleteObject({ Bucket: bucket, Key: keyOf(next++) }).promise();
          }
        }),
      );
      await client.deleteBucket({ Bucket: bucket }).promise();
    }
  }

  // (d) produce → stored latency at a steady rate --------------------------------------------
  if (only.has("d")) {
    const seconds = Number(values.seconds);
    const warmup = Number(values.warmup);
    // Load average, and the kernel's pressure stall figures (share of the last 10 s in which
    // some task waited for a CPU / for I/O) when available: the machine is shared.
    const loadavg = async () =>
      (await command("bash", [
        "-c",
        "l=$(cut -d' ' -f1-3 /proc/loadavg); " +
        "c=$(sed -n 's/^some avg10=\\([0-9.]*\\).*/\\1/p' /proc/pressure/cpu 2>/dev/null); " +
        "i=$(sed -n 's/^some avg10=\\([0-9.]*\\).*/\\1/p' /proc/pressure/io 2>/dev/null); " +
        'echo "$l${c:+, cpu stall ${c}%}${i:+, io stall ${i}%}"',
      ])).out.trim();
    const produce = async (topic: string, rate: number, duration: number) => {
      const r = await command(Deno.execPath(), [
        "run",
        "-P=produce",
        "producer/main.ts",
        "--topic",
        topic,
        "--rate",
        String(rate),
        "--duration",
        String(duration),
        "--json",
      ]);
      if (r.code !== 0) throw new Error(`Cannot produce: exit ${r.code}\n${r.err}`);
      return Number(JSON.parse(r.out.trim().split("\n").at(-1)!).acked);
    };
    for (const rate of values.rate.split(",").map(Number)) {
      const topic = unique("bench-cd");
      await createTopics(topic);
      const dir = `${OUT}/${topic}`;
      const groupId = unique("bench-group");
      const startWorker = async () => {
        const worker = await ConsumerWorker.start({
          kafka: kafka(),
          topic,
          dlqTopic: `${topic}.dlq`,
          groupId,
          sink: new LocalSink({ dir, sync: !values["unsafe-no-fsync"] }),
          score: (orders) => host.score(orders),
          summaryIntervalMs: 0,
          writeConcurrency: Number(values["write-concurrency"]),
          chunkSize: Number(values["chunk-size"]),
          log: () => {},
        });
        while (worker.metrics().groupJoins.value === 0) {
          await new Promise((r) => setTimeout(r, 50));
        }
        return worker;
      };
      const drain = async (worker: ConsumerWorker, n: number) => {
        const until = Date.now() + 30_000;
        while (worker.metrics().stored.value < n && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      try {
        // Warm-up: the same pipeline in this process (JIT, scorer workers, connections) at the
        // same rate; its records are stored and committed, then a fresh worker of the same group
        // (fresh metrics) takes over for the measured window. Warm-up latency is reported too.
        let warm = "";
        if (warmup > 0) {
          const w = await startWorker();
          await drain(w, await produce(topic, rate, warmup));
          const ws = w.metrics().latency.ms.summary();
          await w.stop(10_000);
          warm = `; warm-up ${warmup} s before it (${ws.count} orders, not in the figure): ` +
            `p99 ${ws.p99.toFixed(1)} ms, max ${ws.max.toFixed(0)}`;
        }
        const worker = await startWorker();
        const loadBefore = await loadavg();
        const acked = await produce(topic, rate, seconds);
        await drain(worker, acked);
        const loadAfter = await loadavg();
        const s = worker.metrics().latency.ms.summary();
        // More than one join means a rebalance paused consumption inside the measured window.
        const joins = worker.metrics().groupJoins.value;
        await worker.stop(10_000);
        log(
          `(d) ${rate}/s: ${s.count} stored; p50 ${s.p50} p95 ${s.p95} p99 ${s.p99} ms ` +
            `(load ${loadBefore} -> ${loadAfter}; group joins ${joins})${warm}`,
        );
        // Baseline: the disk alone, same rate, same warm-up, right after the measured window,
        // with a body the pipeline stored (the sink's work without the pipeline).
        const body = storedSample(dir) ??
          new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(400) }));
        const disk = await diskAlone(
          `${dir}-disk-alone`,
          body,
          rate,
          seconds,
          warmup,
          Number(values["write-concurrency"]) * 6, // 6 partitions
        );
        const diskLoad = await loadavg();
        log(
          `(d) ${rate}/s disk alone: p50 ${disk.p50.toFixed(1)} p95 ${disk.p95.toFixed(1)} ` +
            `p99 ${disk.p99.toFixed(1)} ms (load after ${diskLoad})`,
        );
        // Baseline: the Java client's produce → consume round trip on the same broker.
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
        rows.push(
          `| (d) produce→stored latency, per-order layout, local disk${
            values["unsafe-no-fsync"] ? " WITHOUT fsync (not durable, comparison only)" : ""
          }, ${rate}/s for ${seconds} s ` +
            `(${s.count} orders) | p99 ${s.p99.toFixed(1)} ms (p50 ${s.p50.toFixed(1)}, p95 ` +
            `${s.p95.toFixed(1)}, max ${
              s.max.toFixed(0)
            }) | Kafka EndToEndLatency (Java, one at a ` +
            `time, acks=all, no sink) p99 ${p?.[2] ?? "?"} ms (p50 ${p?.[1] ?? "?"}, avg ${
              avg?.[1] ?? "?"
            }); the disk alone (temp file, write, fsync, rename, directory fsync at ${rate}/s, ` +
            `at most ${Number(values["write-concurrency"]) * 6} in flight, no Kafka) p99 ${
              disk.p99.toFixed(1)
            } ms (p50 ${disk.p50.toFixed(1)}, p95 ` +
            `${disk.p95.toFixed(1)}, max ${disk.max.toFixed(0)}) | - | ${
              verdict(s.p99, 25, false)
            }${disk.p99 > 25 ? "; the disk alone also missed it in this run" : ""} |`,
        );
        notes.push(
          `(d) ${rate}/s: load average ${loadBefore} before, ${loadAfter} after the measured ` +
            `window; group joins of the measured worker ${joins} (1 = no rebalance)${warm}.`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => undefined);
        await Deno.remove(`${dir}-disk-alone`, { recursive: true }).catch(() => undefined);
        await deleteTopics(topic);
      }
    }
  }
} finally {
  await host.close();
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

const report = `# Consumer benchmark

Generated by \`deno task bench:consumer\` (bench/consumer_bench.ts); rerun to refresh.

- Date: ${new Date().toISOString()}
- Machine: ${await machine()} — shared with other work while measuring, so expect noise.
- Broker: local Kafka (dev/kafka.sh), PLAINTEXT localhost:9092, fresh 6-partition topics
  prefilled with the producer CLI (synthetic orders, ~300 B). S3: local moto server (dev/s3.sh).
- Pipeline runs: a \`ConsumerWorker\` in the bench process with the real scoring host (sandboxed
  plugin workers), default tuning; the clock includes connect and group join.

| what | orderflow | baseline (same run) | ratio | target |
|---|---|---|---|---|
${rows.join("\n")}

${notes.map((n) => `- ${n}`).join("\n")}

What the figures mean, what was tried and where the latency goes: [consumer_notes.md](consumer_notes.md)
(hand-written; this file is regenerated on every run).
`;
console.log(report);
if (!values["no-write"]) {
  await Deno.writeTextFile(new URL("consumer.md", import.meta.url), report);
}
