/**
 * Edge scoring in `producer/main.ts` (run as a subprocess with `-P=produce`) against the real
 * local broker: the producer runs the consumer's scoring plugins (PLUGINS_DIR, sandboxed), draws
 * synthetic channels from them live, stamps `risk.*` headers, and holds high scores in a review
 * topic; the consumer keeps the edge score as `edge_risk_score`. Each test uses its own topics
 * and plugins directory. Start the broker first: `bash dev/kafka.sh start`.
 */
import assert from "node:assert/strict";
import { type IHeaders, type KafkaMessage, Partitioners } from "kafkajs";
import { registerSnappyCodec, silenceTimeoutNegativeWarning } from "../clients/kafka.ts";
import { scorerSource, tempPluginsDir } from "../plugins_host/_testing.ts";
import {
  cleanup,
  consumerEnv,
  ConsumerProcess,
  createTopic,
  deleteTopic,
  plaintextKafka,
  scenario,
  storedLocal,
  uniqueName,
} from "./consumer_support.ts";

silenceTimeoutNegativeWarning();
const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = new URL("../producer/main.ts", import.meta.url).pathname;

/** A producer subprocess; stderr lines are collected as they come. */
class Producer {
  readonly child: Deno.ChildProcess;
  readonly stderr: string[] = [];
  readonly #stdout: Promise<string>;
  readonly #stderrDone: Promise<void>;

  constructor(args: readonly string[], env: Record<string, string>) {
    const base: Record<string, string> = { NO_COLOR: "1" };
    for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) base[name] = value;
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=produce", "--quiet", MAIN, ...args],
      cwd: ROOT,
      env: { ...base, KAFKA_BROKERS: "localhost:9092", ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#stdout = new Response(child.stdout).text();
    this.#stderrDone = (async () => {
      let rest = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        this.stderr.push(...parts);
      }
      if (rest !== "") this.stderr.push(rest);
    })();
  }

  /** Waits until a stderr line matches `re`. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.stderr.some((l) => re.test(l))) {
      if (Date.now() > until) {
        throw new RangeError(`Timed out waiting for ${re}:\n${this.stderr.join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Exit code, stdout, stderr. */
  async result(): Promise<{ code: number; stdout: string; stderr: string }> {
    const [status, stdout] = await Promise.all([this.child.status, this.#stdout]);
    await this.#stderrDone;
    return { code: status.code, stdout, stderr: this.stderr.join("\n") };
  }
}

/** Every record of `topic`, read with a throw-away group. */
async function readTopic(topic: string): Promise<KafkaMessage[]> {
  registerSnappyCodec();
  const kafka = plaintextKafka({ clientId: "edge-test-reader" });
  const admin = kafka.admin();
  await admin.connect();
  let total = 0;
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high) - Number(p.low);
  } finally {
    await admin.disconnect();
  }
  if (total === 0) return [];
  const consumer = kafka.consumer({ groupId: uniqueName("edge-test-reader") });
  const out: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RangeError(`${out.length}/${total}`)), 30_000);
      consumer.run({
        eachMessage: ({ message }) => {
          out.push(message);
          if (out.length >= total) {
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
  return out;
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return value === undefined ? undefined : String(value);
}

function channelOf(m: KafkaMessage): string {
  return JSON.parse(String(m.value)).channel;
}

// deno-lint-ignore no-explicit-any -- the summary's shape is what these tests check
function lastJson(stdout: string): Record<string, any> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] ?? "{}");
}

Deno.test({
  name:
    "produce --score --duration: a scorer dropped in mid-run gets synthetic traffic and stamps its edge scores",
  sanitizeOps: false, // kafkajs consumer leaves request timers behind after disconnect
  sanitizeResources: false,
  fn: async () => {
    const dir = await tempPluginsDir(true);
    const topic = uniqueName("edge-dropin");
    await createTopic(topic, 3);
    try {
      const p = new Producer(
        ["--topic", topic, "--duration", "7", "--rate", "150", "--score", "--json"],
        { PLUGINS_DIR: dir },
      );
      await p.waitFor(/producing to/);
      await Deno.writeTextFile(`${dir}/pos.ts`, scorerSource("pos", "0.42"));
      const r = await p.result();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /synthetic channels now follow the plugins: .*pos=/);
      const summary = lastJson(r.stdout);
      const records = await readTopic(topic);
      assert.equal(records.length, summary.acked);
      const pos = records.filter((m) => channelOf(m) === "pos");
      assert.ok(pos.length >= 10, `pos got ${pos.length} of ${records.length} orders`);
      // A call past its deadline on a busy machine gets the fallback, and says so in a header.
      const byPos = pos.filter((m) => header(m.headers, "risk.fallback") === undefined);
      assert.ok(byPos.length >= pos.length / 2, `pos scored ${byPos.length} of ${pos.length}`);
      for (const m of byPos) {
        assert.equal(header(m.headers, "risk.score"), "0.42");
        assert.equal(header(m.headers, "risk.scorer"), "pos");
      }
      for (const m of records) {
        const score = Number(header(m.headers, "risk.score"));
        assert.ok(score >= 0 && score <= 1, `every record is edge-scored: ${score}`);
        if (header(m.headers, "risk.fallback") === undefined) {
          assert.equal(header(m.headers, "risk.scorer"), channelOf(m), "its channel's scorer");
        }
      }
      assert.equal(summary.scored.by_channel.pos.scored, pos.length);
      assert.equal(summary.scored.total, records.length);
    } finally {
      await deleteTopic(topic).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "produce --hold-above: high scores land in the review topic with their headers, counted per channel",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await tempPluginsDir(true);
    const topic = uniqueName("edge-main");
    const review = uniqueName("edge-review");
    await createTopic(topic, 3);
    await createTopic(review, 2);
    try {
      // web: total/1000, partner: 0.1 or 0.8, mobile: 0.5 — so both sides get orders.
      const args = ["--topic", topic, "--count", "400", "--seed", "7", "--json", "--deliveries"];
      const p = new Producer([...args, "--hold-above", "0.45", "--hold-topic", review], {
        PLUGINS_DIR: dir,
      });
      const r = await p.result();
      assert.equal(r.code, 0, r.stderr);
      const summary = lastJson(r.stdout);
      assert.equal(summary.acked, 400);
      const held = await readTopic(review);
      const kept = await readTopic(topic);
      assert.equal(held.length + kept.length, 400);
      assert.ok(held.length > 0 && kept.length > 0, `held ${held.length}, kept ${kept.length}`);
      const perChannel: Record<string, number> = {};
      for (const m of held) {
        assert.ok(Number(header(m.headers, "risk.score")) > 0.45);
        if (header(m.headers, "risk.fallback") === undefined) {
          assert.equal(header(m.headers, "risk.scorer"), channelOf(m));
        }
        assert.equal(header(m.headers, "schema"), "orderflow.order.v1");
        assert.ok(Number(header(m.headers, "produced_at")) > 0);
        perChannel[channelOf(m)] = (perChannel[channelOf(m)] ?? 0) + 1;
      }
      for (const m of kept) assert.ok(Number(header(m.headers, "risk.score")) <= 0.45);
      assert.equal(summary.held.total, held.length);
      assert.equal(summary.held.topic, review);
      for (const [channel, n] of Object.entries(summary.held.by_channel)) {
        assert.equal(n, perChannel[channel] ?? 0, `held ${channel}`);
      }
      assert.equal(Object.keys(perChannel).every((c) => c in summary.held.by_channel), true);
      const reports = r.stdout.trim().split("\n").slice(0, -1).map((l) => JSON.parse(l));
      assert.equal(
        reports.filter((d) => d.status === "acked" && d.topic === review).length,
        held.length,
      );
      assert.match(
        r.stderr,
        new RegExp(`held for review in "${review}" \\(score > 0.45\\): ${held.length} \\(`),
      );

      // A missing hold topic fails before anything is sent, saying what to do.
      const missing = await new Producer(
        [...args, "--hold-above", "0.45", "--hold-topic", uniqueName("no-such-review")],
        { PLUGINS_DIR: dir },
      ).result();
      assert.equal(missing.code, 1, missing.stderr);
      assert.match(
        missing.stderr,
        /Cannot publish to topic "no-such-review[^"]*": the topic does not exist/,
      );
      assert.match(missing.stderr, /--hold-topic/);
    } finally {
      await deleteTopic(topic).catch(() => {});
      await deleteTopic(review).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "consume stores the producer's edge score as edge_risk_score, and ignores an invalid one",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const s = await scenario("edge", 2);
    try {
      const p = await new Producer(
        ["--topic", s.topic, "--count", "40", "--seed", "3", "--score", "--mix", "web=1,partner=1"],
        {},
      ).result();
      assert.equal(p.code, 0, p.stderr);
      const producer = plaintextKafka().producer({
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      const order = (id: string) =>
        JSON.stringify({
          orderId: id,
          customerId: "c-1",
          channel: "web",
          items: [{ sku: "S-1", quantity: 1, unit_price: 100 }],
          total: 100,
          currency: "USD",
          created_at: "2026-11-26T20:00:00.000Z",
        });
      await producer.send({
        topic: s.topic,
        acks: -1,
        messages: [
          { key: "bad-1", value: order("bad-1"), headers: { "risk.score": "1.5" } },
          { key: "bad-2", value: order("bad-2"), headers: { "risk.score": "high" } },
        ],
      });
      await producer.disconnect();
      const c = new ConsumerProcess(consumerEnv(s), [
        "--from-beginning",
        "--max-records",
        "42",
        "--summary-interval",
        "0",
      ]);
      assert.equal(await c.exit(), 0, c.lines.join("\n"));
      const stored = await storedLocal(s.dir);
      assert.equal(stored.size, 42);
      const edge = await readTopic(s.topic);
      for (const m of edge) {
        const body = stored.get(String(m.key))!.body;
        const h = header(m.headers, "risk.score");
        if (h === undefined || Number(h) > 1 || Number.isNaN(Number(h))) {
          assert.equal("edge_risk_score" in body, false, `${m.key}: invalid header ignored`);
        } else {
          assert.equal(body.edge_risk_score, Number(h), `${m.key}: edge score kept`);
          // Same plugins at both ends: the same score (unless one end fell back on a busy machine).
          if (body.scorer === header(m.headers, "risk.scorer")) {
            assert.equal(body.risk_score, body.edge_risk_score);
          }
        }
      }
      assert.equal([...stored.values()].filter((o) => "edge_risk_score" in o.body).length, 40);
    } finally {
      await cleanup(s);
    }
  },
});
