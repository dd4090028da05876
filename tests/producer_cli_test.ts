/**
 * Integration tests of `producer/main.ts` run as a subprocess with `-P=produce`, against the real
 * local broker (PLAINTEXT localhost:9092 and SASL_SSL localhost:9093). Each test uses its own
 * topic. Start the broker first: `bash dev/kafka.sh start`.
 */
import assert from "node:assert/strict";
import type { IHeaders, KafkaMessage } from "kafkajs";
import { registerSnappyCodec, silenceTimeoutNegativeWarning } from "../clients/kafka.ts";
import { Order } from "../core/order.ts";
import { createTopic, deleteTopic, plaintextKafka, saslEnv, uniqueName } from "./_infra.ts";

silenceTimeoutNegativeWarning(); // kafkajs admin/consumer in this process
const ROOT = new URL("../", import.meta.url);
const MAIN = new URL("../producer/main.ts", import.meta.url).pathname;

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Environment for the CLI: nothing inherited but what Deno itself needs. */
function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

async function runCli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: Uint8Array; signalAfterMs?: number } = {},
): Promise<CliResult> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=produce", "--quiet", MAIN, ...args],
    cwd: ROOT.pathname,
    env: options.env ?? baseEnv(),
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (options.signalAfterMs !== undefined) {
    timer = setTimeout(() => child.kill("SIGINT"), options.signalAfterMs);
  }
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms: performance.now() - started,
  };
}

/** Every record of `topic` (all partitions), read with a throw-away consumer group. */
async function readTopic(topic: string, expected: number, timeoutMs = 30_000): Promise<
  { partition: number; message: KafkaMessage }[]
> {
  registerSnappyCodec(); // the records are snappy-compressed
  silenceTimeoutNegativeWarning();
  const kafka = plaintextKafka({ clientId: "producer-test-reader" });
  const admin = kafka.admin();
  await admin.connect();
  let total = 0;
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high) - Number(p.low);
  } finally {
    await admin.disconnect();
  }
  assert.equal(total, expected, `topic ${topic} holds ${total} records, expected ${expected}`);
  if (total === 0) return [];
  const consumer = kafka.consumer({ groupId: uniqueName("producer-test-reader") });
  const records: { partition: number; message: KafkaMessage }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RangeError(`Cannot read ${topic}: ${records.length}/${total} in time`)),
        timeoutMs,
      );
      consumer.on(consumer.events.CRASH, (event) => {
        clearTimeout(timer);
        reject(event.payload.error);
      });
      consumer.run({
        eachMessage: ({ partition, message }) => {
          records.push({ partition, message });
          if (records.length >= total) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return value === undefined ? undefined : String(value);
}

function lastJsonLine(text: string): Record<string, unknown> {
  const lines = text.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] ?? "{}");
}

/** `kafka.tools.DumpLogSegments` over the topic's segments: the compression codec of each batch. */
async function batchCodecs(topic: string): Promise<string[]> {
  const dataDir = new URL(".run/kafka/data/", ROOT).pathname;
  const files: string[] = [];
  for await (const entry of Deno.readDir(dataDir)) {
    if (entry.isDirectory && entry.name.startsWith(`${topic}-`)) {
      for await (const f of Deno.readDir(`${dataDir}${entry.name}`)) {
        if (f.name.endsWith(".log")) files.push(`${dataDir}${entry.name}/${f.name}`);
      }
    }
  }
  assert.ok(files.length > 0, `no segment files for ${topic}`);
  const out = await new Deno.Command("bash", {
    args: ["dev/kafka.sh", "tool", "kafka.tools.DumpLogSegments", "--files", files.join(",")],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return [...text.matchAll(/compresscodec: (\w+)/g)].map((m) => m[1] ?? "");
}

Deno.test({
  name:
    "produce (PLAINTEXT) delivers every synthetic order once, keyed, with headers, snappy, exact offsets",
  sanitizeOps: false, // kafkajs consumer leaves request timers behind after disconnect
  sanitizeResources: false,
  fn: async () => {
    const topic = uniqueName("producer-plain");
    await createTopic(topic, 3);
    try {
      const before = Date.now();
      const r = await runCli([
        "--topic",
        topic,
        "--count",
        "700",
        "--seed",
        "11",
        "--batch-size",
        "100",
        "--deliveries",
        "--json",
      ]);
      const after = Date.now();
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      const summary = JSON.parse(lines.pop() ?? "{}");
      assert.equal(summary.acked, 700);
      assert.equal(summary.failed, 0);
      assert.equal(summary.sent, 700);
      assert.ok(summary.batches >= 7, `batches: ${summary.batches}`);
      assert.deepEqual(summary.kafkajs_patches, {
        kafkajs: "2.2.4",
        fetch_v11_decoder: "live",
        varint_encoder: "live",
      });
      assert.match(r.stderr, /kafkajs patches: fetch_v11_decoder live, varint_encoder live/);
      for (const k of ["p50", "p95", "p99"]) {
        assert.equal(typeof summary.ack_latency_ms[k], "number");
      }
      const reports = lines.map((l) => JSON.parse(l));
      assert.equal(reports.length, 700);
      const reported = new Map<string, string>(
        reports.map((d) => [d.key as string, `${d.partition}/${d.offset}`]),
      );

      const records = await readTopic(topic, summary.acked);
      const seen = new Set<string>();
      for (const { partition, message } of records) {
        const order = Order.fromRaw(JSON.parse(String(message.value)));
        assert.equal(String(message.key), order.orderId, "key = orderId");
        assert.equal(header(message.headers, "schema"), "orderflow.order.v1");
        const producedAt = Number(header(message.headers, "produced_at"));
        assert.ok(producedAt >= before && producedAt <= after, `produced_at ${producedAt}`);
        assert.equal(
          reported.get(order.orderId),
          `${partition}/${message.offset}`,
          `delivery report of ${order.orderId} names its real partition/offset`,
        );
        seen.add(order.orderId);
      }
      assert.equal(seen.size, 700, "no duplicates");
      assert.ok(seen.has("ord-sb-1") && seen.has("ord-sb-700"));

      const codecs = await batchCodecs(topic);
      assert.ok(codecs.length >= 7, `batches in the log: ${codecs.length}`);
      assert.deepEqual([...new Set(codecs)], ["snappy"]);
    } finally {
      await deleteTopic(topic);
    }
  },
});

Deno.test({
  name: "produce (SASL_SSL) delivers over TLS + SASL PLAIN with the settings from sasl.env",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const topic = uniqueName("producer-sasl");
    await createTopic(topic, 2);
    try {
      const r = await runCli(["--topic", topic, "--count", "250", "--json"], {
        env: baseEnv({ ...saslEnv() }),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /localhost:9093 \(SASL_SSL\)/);
      const summary = lastJsonLine(r.stdout);
      assert.equal(summary.acked, 250);
      const records = await readTopic(topic, 250);
      assert.equal(new Set(records.map((x) => String(x.message.key))).size, 250);
    } finally {
      await deleteTopic(topic);
    }
  },
});

Deno.test({
  name: "produce --idempotent --max-in-flight 1 delivers every order once, in order per partition",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const topic = uniqueName("producer-idem");
    await createTopic(topic, 3);
    try {
      const r = await runCli([
        "--topic",
        topic,
        "--count",
        "600",
        "--seed",
        "12",
        "--batch-size",
        "50",
        "--max-in-flight",
        "1",
        "--idempotent",
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /idempotent on/);
      const summary = lastJsonLine(r.stdout);
      assert.equal(summary.acked, 600);
      assert.equal(summary.idempotent, true);
      const records = await readTopic(topic, 600);
      assert.equal(new Set(records.map((x) => String(x.message.key))).size, 600);
      // One send at a time: within a partition, records appear in the order they were generated.
      // (With --max-in-flight > 1 concurrent sends may interleave; each order has its own key.)
      const byPartition = new Map<number, number[]>();
      for (const { partition, message } of records) {
        const n = Number(String(message.key).split("-").at(-1));
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), n]);
      }
      for (const ns of byPartition.values()) assert.deepEqual(ns, [...ns].sort((a, b) => a - b));
    } finally {
      await deleteTopic(topic);
    }
  },
});

const FILE_LINES = [
  '{"orderId":"ord-f1","customerId":"cust-1","channel":"web","items":[{"sku":"A","quantity":2,"unit_price":10.5}],"total":21,"currency":"USD","created_at":"2026-01-01T00:00:00Z"}',
  "",
  "this is not json",
  '{"orderId":"ord-f2","customerId":"cust-2","channel":"mobile","items":[{"sku":"B","quantity":1,"unit_price":5}],"total":6,"currency":"USD","created_at":"2026-01-01T00:00:00Z"}',
  '{"orderId":"../evil","customerId":"cust-3","channel":"web","items":[],"total":1,"currency":"usd","created_at":"2026-01-01T00:00:00Z"}',
  "   ",
  '{"orderId":"ord-f3","customerId":"cust-3","channel":"kiosk","items":[{"sku":"C","quantity":3,"unit_price":0.1}],"total":0.3,"currency":"EUR","created_at":"2026-01-01T00:00:00Z"}',
];

Deno.test({
  name: "produce --file reports invalid lines with their numbers and sends only valid orders",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const topic = uniqueName("producer-file");
    await createTopic(topic, 1);
    const path = await Deno.makeTempFile({ suffix: ".jsonl" });
    try {
      await Deno.writeTextFile(path, FILE_LINES.join("\r\n") + "\r\n"); // CRLF on purpose
      const r = await runCli(["--file", path, "--topic", topic, "--json"]);
      assert.equal(r.code, 1, "invalid input makes the exit status 1");
      const summary = lastJsonLine(r.stdout);
      assert.deepEqual([summary.acked, summary.failed, summary.invalid], [2, 0, 3]);
      assert.match(r.stderr, new RegExp(`${path}:3: invalid order, not sent: line is not JSON`));
      assert.match(r.stderr, new RegExp(`${path}:4: invalid order, not sent: total: `));
      assert.match(
        r.stderr,
        new RegExp(`${path}:5: invalid order, not sent: orderId: .*items: .*currency: `),
      );
      assert.doesNotMatch(r.stderr, /:(1|2|6|7): invalid/);
      const records = await readTopic(topic, 2);
      assert.deepEqual(records.map((x) => String(x.message.key)), ["ord-f1", "ord-f3"]);
    } finally {
      await Deno.remove(path);
      await deleteTopic(topic);
    }
  },
});

Deno.test({
  name: "produce --file - --no-validate sends stdin lines byte for byte (keys when readable)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const topic = uniqueName("producer-raw");
    await createTopic(topic, 1);
    try {
      const input = new TextEncoder().encode(FILE_LINES.join("\n")); // no final newline
      const r = await runCli(["--file", "-", "--no-validate", "--topic", topic, "--json"], {
        stdin: input,
      });
      assert.equal(r.code, 0, r.stderr);
      const summary = lastJsonLine(r.stdout);
      assert.deepEqual([summary.acked, summary.invalid], [5, 0]);
      const records = await readTopic(topic, 5);
      const got = records.map((
        x,
      ) => [x.message.key === null ? null : String(x.message.key), String(x.message.value)]);
      // Order across sends is not promised unless --max-in-flight 1 (see --help): compare as sets.
      const byValue = (a: readonly unknown[], b: readonly unknown[]) =>
        String(a[1]).localeCompare(String(b[1]));
      assert.deepEqual(
        got.sort(byValue),
        [
          ["ord-f1", FILE_LINES[0]],
          [null, "this is not json"],
          ["ord-f2", FILE_LINES[3]],
          ["../evil", FILE_LINES[4]],
          ["ord-f3", FILE_LINES[6]],
        ].sort(byValue),
      );
    } finally {
      await deleteTopic(topic);
    }
  },
});

Deno.test("produce fails clearly and within the time bound when the broker is unreachable", async () => {
  // A port nothing listens on: bind one, note it, close it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const r = await runCli(["--count", "10", "--json"], {
    env: baseEnv({ KAFKA_BROKERS: `localhost:${port}` }),
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`Cannot connect to Kafka at localhost:${port}`));
  assert.match(r.stderr, /refused the connection/);
  assert.match(r.stderr, /start the broker/);
  assert.ok(r.ms < 35_000, `took ${Math.round(r.ms)} ms`);
  assert.equal(lastJsonLine(r.stdout).acked, 0);
});

Deno.test("produce exits 2 on usage errors and lists every settings problem", async () => {
  const unknown = await runCli(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--bogus'/);
  assert.match(unknown.stderr, /--help/);

  const bad = await runCli(["--count", "3.5"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid --count/);

  const settings = await runCli(["--count", "1"], {
    env: baseEnv({ KAFKA_SECURITY_PROTOCOL: "SSL_PLEASE", LOG_LEVEL: "loud" }),
  });
  assert.equal(settings.code, 2);
  assert.match(settings.stderr, /KAFKA_SECURITY_PROTOCOL/);
  assert.match(settings.stderr, /LOG_LEVEL/);

  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:/);
});

Deno.test({
  name: "produce on SIGINT stops reading, delivers what is in flight, reports, exits 0",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const topic = uniqueName("producer-sigint");
    await createTopic(topic, 2);
    try {
      const r = await runCli(
        ["--topic", topic, "--count", "1000000", "--rate", "500", "--linger-ms", "200", "--json"],
        { signalAfterMs: 3_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /SIGINT: stopping input/);
      const summary = lastJsonLine(r.stdout);
      assert.equal(summary.stopped_by, "signal");
      assert.equal(summary.failed, 0);
      assert.equal(summary.acked, summary.sent);
      assert.ok((summary.acked as number) > 50, `acked ${summary.acked}`);
      await readTopic(topic, summary.acked as number);
    } finally {
      await deleteTopic(topic);
    }
  },
});
