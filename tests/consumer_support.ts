/**
 * Helpers for the consumer integration tests (real broker, real S3 server): order fixtures,
 * producing, spawning `consumer/main.ts`, reading what the sinks stored and what was committed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Kafka } from "kafkajs";
import { createTopic, deleteTopic, plaintextKafka, s3Env, uniqueName } from "./_infra.ts";
import { createCosClient } from "../config/cos.ts";
import type { CosSettings } from "../config/settings.ts";
import {
  parseSegmentKey,
  readableSegments,
  type SegmentName,
} from "../consumer/sinks/segment_key.ts";

export { createTopic, deleteTopic, plaintextKafka, uniqueName };

/** A valid wire order. */
export function orderJson(id: string, i: number): Record<string, unknown> {
  const day = 1 + (i % 3);
  const quantity = 1 + (i % 4);
  const price = 5 + (i % 50);
  return {
    orderId: id,
    customerId: `cust-${i % 97}`,
    channel: ["web", "mobile", "partner"][i % 3],
    items: [{ sku: `SKU-${i % 13}`, quantity, unit_price: price }],
    total: quantity * price,
    currency: "USD",
    created_at: `2026-11-0${day}T10:00:00.000Z`,
  };
}

/** The `dt=` an order of index i lands in. */
export function dtOf(i: number): string {
  return `2026-11-0${1 + (i % 3)}`;
}

/** One message to produce. */
export interface Msg {
  readonly key: string | null;
  readonly value: string | Uint8Array | null;
}

/** Produces messages (acks=all) in chunks, with the producer's headers. */
export async function produce(
  topic: string,
  messages: readonly Msg[],
  kafka?: Kafka,
): Promise<void> {
  const producer = (kafka ?? plaintextKafka()).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.slice(i, i + 500).map((m) => ({
          key: m.key,
          value: m.value === null
            ? null
            : typeof m.value === "string"
            ? m.value
            : Buffer.from(m.value),
          headers: { produced_at: String(Date.now()), schema: "orderflow.order.v1" },
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Valid orders `prefix-0..n-1` as messages keyed by id. */
export function validOrders(prefix: string, n: number, from = 0): Msg[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const id = `${prefix}-${i}`;
    return { key: id, value: JSON.stringify(orderJson(id, i)) };
  });
}

/** A topic + DLQ topic + group + sink dir unique to one test. */
export interface Scenario {
  readonly topic: string;
  readonly dlq: string;
  readonly group: string;
  readonly dir: string;
  readonly prefix: string;
}

/** Creates the topics of a scenario. */
export async function scenario(name: string, partitions = 6): Promise<Scenario> {
  const topic = uniqueName(`ctest-${name}`);
  await createTopic(topic, partitions);
  await createTopic(`${topic}.dlq`, 1);
  return {
    topic,
    dlq: `${topic}.dlq`,
    group: `${topic}-group`,
    dir: `./data/test/${topic}`,
    prefix: `test/${topic}/`,
  };
}

/** Deletes a scenario's topics and local files. */
export async function cleanup(s: Scenario): Promise<void> {
  await deleteTopic(s.topic).catch((e) => console.error(`cleanup: ${e}`));
  await deleteTopic(s.dlq).catch((e) => console.error(`cleanup: ${e}`));
  await Deno.remove(s.dir, { recursive: true }).catch(() => undefined);
}

/** Environment for `consumer/main.ts` for a scenario. */
export function consumerEnv(
  s: Scenario,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    KAFKA_BROKERS: "localhost:9092",
    KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
    ORDERS_TOPIC: s.topic,
    DLQ_TOPIC: s.dlq,
    CONSUMER_GROUP: s.group,
    SINK: "local",
    SINK_DIR: s.dir,
    ...extra,
  };
}

/** A spawned consumer process with its stderr collected. */
export class ConsumerProcess {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly #done: Promise<void>;

  constructor(env: Record<string, string>, args: readonly string[] = []) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=consume", "consumer/main.ts", ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop() ?? "";
        this.lines.push(...parts);
        if (Deno.env.get("CTEST_VERBOSE")) { for (const p of parts) console.error(`  | ${p}`); }
      }
      if (rest !== "") this.lines.push(rest);
    };
    this.#done = Promise.all([pump(this.child.stdout), pump(this.child.stderr)]).then(() => {});
  }

  /** Waits until a line matches `re` (throws after `timeoutMs`). */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const line = this.lines.find((l) => re.test(l));
      if (line !== undefined) return line;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new RangeError(
      `Timed out waiting for ${re} in consumer output:\n${this.lines.join("\n")}`,
    );
  }

  /** Waits for exit (SIGKILL after `timeoutMs`, then throws); returns the code. */
  async exit(timeoutMs = 90_000): Promise<number> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.child.kill("SIGKILL");
    }, timeoutMs);
    const status = await this.child.status;
    clearTimeout(timer);
    if (timedOut) {
      await this.#done;
      throw new RangeError(
        `Consumer did not exit within ${timeoutMs} ms:\n${this.lines.join("\n")}`,
      );
    }
    await this.#done;
    return status.code;
  }

  /** Sends a signal. */
  kill(signal: Deno.Signal): void {
    this.child.kill(signal);
  }
}

/** Orders stored under `dir` (per-order layout): orderId → { dt, body }. */
export async function storedLocal(
  dir: string,
): Promise<Map<string, { dt: string; body: Record<string, unknown> }>> {
  const out = new Map<string, { dt: string; body: Record<string, unknown> }>();
  let dts: Deno.DirEntry[];
  try {
    dts = [...Deno.readDirSync(`${dir}/orders`)];
  } catch {
    return out;
  }
  for (const d of dts) {
    for (const f of Deno.readDirSync(`${dir}/orders/${d.name}`)) {
      const m = /^orderId=(.+)\.json$/.exec(f.name);
      if (m === null) continue;
      const body = JSON.parse(await Deno.readTextFile(`${dir}/orders/${d.name}/${f.name}`));
      out.set(m[1]!, { dt: d.name.replace(/^dt=/, ""), body });
    }
  }
  return out;
}

/** COS settings of the local S3 server (HMAC). */
export function localCos(): CosSettings {
  const env = s3Env();
  return {
    endpoint: env.COS_ENDPOINT!,
    bucket: env.COS_BUCKET!,
    auth: {
      kind: "hmac",
      accessKeyId: env.COS_HMAC_ACCESS_KEY_ID!,
      secretAccessKey: env.COS_HMAC_SECRET_ACCESS_KEY!,
    },
  };
}

/** Creates a bucket on the local S3 server; returns the consumer env selecting it (HMAC). */
export async function createBucket(bucket: string): Promise<Record<string, string>> {
  const cos = localCos();
  await createCosClient(cos).createBucket({ Bucket: bucket }).promise();
  return {
    SINK: "cos",
    COS_ENDPOINT: cos.endpoint,
    COS_BUCKET: bucket,
    COS_HMAC_ACCESS_KEY_ID: cos.auth.kind === "hmac" ? cos.auth.accessKeyId : "",
    COS_HMAC_SECRET_ACCESS_KEY: cos.auth.kind === "hmac" ? cos.auth.secretAccessKey : "",
  };
}

/** Empties and deletes a bucket of the local S3 server (one small DeleteObject per key). */
export async function deleteBucket(bucket: string): Promise<void> {
  const client = createCosClient(localCos());
  const keys = await bucketKeys("", bucket);
  for (let i = 0; i < keys.length; i += 32) {
    await Promise.all(
      keys.slice(i, i + 32).map((Key) => client.deleteObject({ Bucket: bucket, Key }).promise()),
    );
  }
  await client.deleteBucket({ Bucket: bucket }).promise();
}

/**
 * A presigned URL of the local S3 server (HMAC, signed locally, no request made): tests read with
 * plain `fetch`, because under Deno the SDK's listObjectsV2 / getObject sometimes never settle on
 * responses of ~100 KB (the third of three getObject calls in a row, reproducibly).
 */
function signedUrl(operation: string, params: Record<string, unknown>): string {
  return createCosClient(localCos()).getSignedUrl(operation, { ...params, Expires: 300 });
}

/** Keys under `prefix` in a bucket of the local S3 server. */
export async function bucketKeys(prefix: string, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const url = signedUrl("listObjectsV2", {
      Bucket: bucket,
      Prefix: prefix,
      ...(token === undefined ? {} : { ContinuationToken: token }),
    });
    const res = await fetch(url);
    const xml = await res.text();
    if (!res.ok) throw new RangeError(`Cannot list ${bucket}: ${res.status} ${xml.slice(0, 200)}`);
    for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(m[1]!.replaceAll("&amp;", "&"));
    token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
      ? /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1]
      : undefined;
  } while (token !== undefined);
  return keys;
}

/** Body of one object in the local S3 bucket (see {@linkcode bucketKeys} for why `fetch`). */
export async function bucketObject(key: string, bucket: string): Promise<string> {
  const res = await fetch(signedUrl("getObject", { Bucket: bucket, Key: key }));
  const text = await res.text();
  if (!res.ok) {
    throw new RangeError(`Cannot get ${bucket}/${key}: ${res.status} ${text.slice(0, 200)}`);
  }
  return text;
}

/** Committed offsets of `group` on `topic`, partition → offset (-1 = none). */
export async function committed(group: string, topic: string): Promise<Map<number, bigint>> {
  const admin = plaintextKafka({ clientId: "ctest-admin" }).admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((res[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** A DLQ record as read back. */
export interface DlqRecord {
  readonly key: string | null;
  readonly value: Uint8Array | null;
  readonly headers: Record<string, string>;
}

/** Reads every record of a (1-partition) DLQ topic. */
export async function readDlq(topic: string): Promise<DlqRecord[]> {
  const admin = plaintextKafka({ clientId: "ctest-admin" }).admin();
  await admin.connect();
  let high: number;
  try {
    high = (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
  if (high === 0) return [];
  const consumer = plaintextKafka({ clientId: "ctest-dlq" }).consumer({
    groupId: uniqueName("ctest-dlq-reader"),
  });
  const out: DlqRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const { promise, resolve } = Promise.withResolvers<void>();
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({ key: message.key?.toString() ?? null, value: message.value, headers });
        if (out.length >= high) resolve();
        return Promise.resolve();
      },
    });
    const timer = setTimeout(resolve, 20_000);
    await promise;
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/**
 * A TCP proxy in front of the real S3 server that the test can take down and bring back: a real
 * network outage for the consumer without stopping the shared server (moto keeps its buckets in
 * memory, so `dev/s3.sh stop` would wipe every engineer's objects).
 */
export class OutageProxy {
  readonly port: number;
  readonly #target: { hostname: string; port: number };
  #listener: Deno.Listener | undefined;
  readonly #conns = new Set<Deno.Conn>();
  #accepting: Promise<void> | undefined;
  #stalled = false;

  constructor(target: { hostname: string; port: number }) {
    this.#target = target;
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (probe.addr as Deno.NetAddr).port;
    probe.close();
  }

  /** Starts (or restarts) forwarding; ends a {@linkcode OutageProxy.stall} (cuts held connections). */
  up(): void {
    if (this.#stalled) {
      this.#stalled = false;
      this.#cut();
    }
    this.#listen();
  }

  #listen(): void {
    if (this.#listener !== undefined) return;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#listener = listener;
    this.#accepting = (async () => {
      try {
        for await (const conn of listener) void this.#pipe(conn);
      } catch {
        // listener closed by down()
      }
    })();
  }

  async #pipe(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    let upstream: Deno.Conn | undefined;
    try {
      if (this.#stalled) {
        // A hung server: take the request, never answer, until the client or up() gives up.
        await client.readable.pipeTo(new WritableStream());
        return;
      }
      upstream = await Deno.connect(this.#target);
      this.#conns.add(upstream);
      await Promise.allSettled([
        client.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(client.writable),
      ]);
    } catch {
      // connection reset by down(): that is the point
    } finally {
      for (const c of [client, upstream]) {
        if (c === undefined) continue;
        this.#conns.delete(c);
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    }
  }

  /**
   * A stalled server rather than a refused one: keeps accepting connections but never forwards
   * nor answers (requests hang until the client's own timeout); cuts the connections open now.
   * `up()` ends the stall, `down()` turns it into a refusal.
   */
  stall(): void {
    this.#stalled = true;
    this.#cut();
    this.#listen();
  }

  #cut(): void {
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    this.#conns.clear();
  }

  /** Stops forwarding: closes the listener and cuts every open connection. */
  async down(): Promise<void> {
    this.#stalled = false;
    this.#listener?.close();
    this.#listener = undefined;
    this.#cut();
    await this.#accepting;
  }
}

/**
 * Waits until `check()` is true, asking every `intervalMs` (throws after `timeoutMs`). Checks that
 * list a big bucket should ask seldom: moto serves one request at a time, so a listing loop starves
 * the writes under test.
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new RangeError(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Number of `*.json` order files under `dir` (cheap, no parsing). */
export function countLocal(dir: string): number {
  let n = 0;
  try {
    for (const d of Deno.readDirSync(`${dir}/orders`)) {
      for (const f of Deno.readDirSync(`${dir}/orders/${d.name}`)) {
        if (f.name.endsWith(".json")) n++;
      }
    }
  } catch {
    return 0;
  }
  return n;
}

/** One stored NDJSON segment object of the batched layout. */
export interface SegmentObject {
  readonly dt: string;
  readonly partition: number;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  readonly orders: readonly Record<string, unknown>[];
}

function parseSegment(name: SegmentName, text: string): SegmentObject {
  return {
    dt: name.dt,
    partition: name.partition,
    firstOffset: name.first,
    lastOffset: name.last,
    orders: text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)),
  };
}

/**
 * Segment objects of the batched layout under a local `dir` that the layout's read rule selects
 * (superseded versions skipped), keyed by object key. Throws on a file that is neither a
 * segment object nor a temp file.
 */
export async function segmentsLocal(dir: string): Promise<Map<string, SegmentObject>> {
  const keys: string[] = [];
  let dts: Deno.DirEntry[];
  try {
    dts = [...Deno.readDirSync(`${dir}/orders`)];
  } catch {
    return new Map();
  }
  for (const d of dts) {
    for (const p of Deno.readDirSync(`${dir}/orders/${d.name}`)) {
      if (!p.isDirectory) continue;
      for (const f of Deno.readDirSync(`${dir}/orders/${d.name}/${p.name}`)) {
        if (f.name.startsWith(".")) continue; // a temp file
        const key = `orders/${d.name}/${p.name}/${f.name}`;
        if (parseSegmentKey(key) === undefined) throw new RangeError(`Not a segment key: ${key}`);
        keys.push(key);
      }
    }
  }
  const out = new Map<string, SegmentObject>();
  for (const name of readableSegments(keys)) {
    out.set(name.key, parseSegment(name, await Deno.readTextFile(`${dir}/${name.key}`)));
  }
  return out;
}

/** Segment objects of the batched layout in a bucket that the read rule selects. */
export async function segmentsInBucket(bucket: string): Promise<Map<string, SegmentObject>> {
  const out = new Map<string, SegmentObject>();
  for (const name of readableSegments(await bucketKeys("orders/", bucket))) {
    out.set(name.key, parseSegment(name, await bucketObject(name.key, bucket)));
  }
  return out;
}

/** Order IDs over all segment objects, with how many times each was stored. */
export function orderCounts(segments: Map<string, SegmentObject>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of segments.values()) {
    for (const o of s.orders) {
      const id = String(o.orderId);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}
