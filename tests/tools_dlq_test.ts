/**
 * `deno task dlq` run as a user would (subprocess, its own permission set) against the real
 * broker:
 *
 * - stats/show over a dead-letter topic the real consumer filled from bad input: counts by reason
 *   and source partition, samples and values escaped, show's filters and JSON lines, no group left;
 * - redrive after a fix: the consumer stores the redriven orders; records still invalid return to
 *   the dead-letter topic; a second run sends nothing twice; records a filter held back are reached
 *   by a later redrive; `--dry-run` sends and commits nothing;
 * - redrive without a fix: the real consumer dead-letters the copy again, and the new dead letter
 *   keeps `dlq.redriven_from` (one generation back), which show and stats report;
 * - usage, settings and connection errors with their exit codes.
 *
 * No consumer rule dead-letters a record that a later fix would accept unchanged (every reason is
 * about the bytes), so the redrive tests craft dead letters with the consumer's own `dlqMessage`
 * whose bytes are valid orders: they stand for orders an earlier, stricter consumer rejected.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  createTopic,
  deleteTopic,
  orderJson,
  plaintextKafka,
  produce,
  readDlq,
  type Scenario,
  scenario,
  storedLocal,
  uniqueName,
} from "./consumer_support.ts";
import { plaintextEnv } from "./fault_support.ts";
import { saslEnv } from "./_infra.ts";
import { repoPath } from "./tools_support.ts";
import { Partitioners } from "kafkajs";
import { dlqMessage } from "../consumer/dlq.ts";
import type { DeadLetterReason } from "../consumer/handler.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `deno task dlq <args>` from the repository root with the scenario's settings. */
async function dlq(s: Scenario, args: readonly string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "dlq", ...args],
    cwd: repoPath("./"),
    env: {
      NO_COLOR: "1",
      KAFKA_BROKERS: "localhost:9092",
      KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
      KAFKA_CLIENT_ID: `${s.topic}-client`,
      ORDERS_TOPIC: s.topic,
      DLQ_TOPIC: s.dlq,
      CONSUMER_GROUP: s.group,
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  } satisfies Run;
}

function ok0(run: Run): Run {
  assert.equal(run.code, 0, `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  return run;
}

/** High watermarks of a topic, summed over partitions. */
async function recordCount(topic: string): Promise<number> {
  const admin = plaintextKafka({ clientId: "dlqtest-admin" }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The README's "Dead letters" commands (README.md must contain each verbatim); tests run them. */
export const README_DLQ = Object.freeze({
  stats: ["stats"],
  show: ["show", "--reason", "invalid_order", "--limit", "5"],
  dryRun: ["redrive", "--reason", "invalid_order", "--dry-run"],
  redrive: ["redrive", "--reason", "invalid_order"],
});

Deno.test("README.md shows the dead-letter commands the tests run", async () => {
  const readme = await Deno.readTextFile(repoPath("README.md"));
  const section = readme.slice(readme.indexOf("## Dead letters"));
  for (const args of Object.values(README_DLQ)) {
    assert.ok(section.includes(`deno task dlq ${args.join(" ")}\n`), `README lacks ${args}`);
  }
});

const ESC = "\u001b[2J\u001b[31m";
const BIDI = "\u202e";

Deno.test("dlq stats and show describe what the real consumer dead-lettered, escaped", async () => {
  const s = await scenario("dlqstats", 3);
  try {
    const bad = [
      ...[0, 1, 2].map((i) => ({ key: `j${i}`, value: `{"orderId": "${ESC}${BIDI}${i}` })),
      ...[0, 1].map((i) => ({ key: `e${i}`, value: "" })),
      { key: "u0", value: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) },
      ...[0, 1].map((i) => ({
        key: `o${i}`,
        value: JSON.stringify({ ...orderJson(`${s.topic}-o${i}`, i), total: "lots" }),
      })),
    ];
    await produce(s.topic, [
      ...bad,
      ...[0, 1, 2].map((i) => ({ key: `v${i}`, value: JSON.stringify(orderJson(`v${i}`, i)) })),
    ]);
    const consumer = new ConsumerProcess(plaintextEnv(consumerEnv(s)), ["--max-records", "11"]);
    assert.equal(await consumer.exit(), 0, consumer.lines.join("\n"));
    const dead = await readDlq(s.dlq);
    assert.equal(dead.length, 8);

    const stats = JSON.parse(ok0(await dlq(s, ["stats", "--json"])).stdout);
    assert.equal(stats.total, 8);
    assert.deepEqual(stats.by_reason, {
      invalid_json: 3,
      empty: 2,
      invalid_order: 2,
      undecodable: 1,
    });
    const bySource: Record<string, number> = {};
    for (const r of dead) {
      const p = r.headers["dlq.source.partition"]!;
      bySource[p] = (bySource[p] ?? 0) + 1;
    }
    assert.deepEqual(stats.by_source_partition, bySource);
    const failed = dead.map((r) => Date.parse(r.headers["dlq.failed_at"]!)).sort();
    assert.equal(stats.oldest, new Date(failed[0]!).toISOString());
    assert.equal(stats.newest, new Date(failed.at(-1)!).toISOString());
    assert.deepEqual(stats.samples.map((x: { reason: string }) => x.reason).sort(), [
      "empty",
      "invalid_json",
      "invalid_order",
      "undecodable",
    ]);

    const text = ok0(await dlq(s, README_DLQ.stats)).stdout;
    assert.ok(!text.includes("\u001b") && !text.includes(BIDI), "raw control characters printed");
    assert.match(text, /\\x1b\[2J\\x1b\[31m\\u\{202e\}/);
    assert.match(text, /\{\\xff\\xfe\}/);
    assert.match(text, /^\s+3\s+invalid_json$/m);

    const one = ok0(await dlq(s, README_DLQ.show)).stdout;
    assert.equal(one.match(/^--- /gm)?.length, 2, "both invalid_order records, below the limit");
    assert.match(one, /^ {2}dlq\.reason: invalid_order$/m);
    assert.match(one, /^ {2}dlq\.source\.offset: \d+$/m);
    assert.match(one, /^ {2}schema: orderflow\.order\.v1$/m);
    assert.match(one, /^value \(JSON, \d+ bytes\):\n {2}\{\n {4}"orderId": /m, "pretty-printed");
    const escaped = ok0(await dlq(s, ["show", "--reason", "invalid_json"])).stdout;
    assert.equal(escaped.match(/^--- /gm)?.length, 3);
    assert.ok(!escaped.includes("\u001b") && !escaped.includes(BIDI));
    assert.match(escaped, /value \(not JSON, \d+ bytes\): \{"orderId": "\\x1b\[2J/);
    const lines = ok0(await dlq(s, ["show", "--reason", "empty", "--json"])).stdout.trim()
      .split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.reason, l.value_text]), [["empty", ""], ["empty", ""]]);
    assert.equal(ok0(await dlq(s, ["show", "--limit", "5"])).stdout.match(/^--- /gm)?.length, 5);

    // Reading joined throwaway groups only, and deleted them.
    const admin = plaintextKafka({ clientId: "dlqtest-admin" }).admin();
    await admin.connect();
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    await admin.disconnect();
    assert.deepEqual(groups.filter((g) => g.startsWith(`${s.topic}-client`)), []);
  } finally {
    await cleanup(s);
  }
});

/** Dead letters shaped by the consumer's own `dlqMessage`, into one partition of the DLQ. */
async function seedDeadLetters(
  s: Scenario,
  items: readonly { id: string; reason: DeadLetterReason; value: string; truncated?: boolean }[],
  partition = 0,
): Promise<void> {
  const producer = plaintextKafka().producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({
      topic: s.dlq,
      acks: -1,
      messages: items.map((item, i) => ({ partition, ...dlqShaped(s, item, i) })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** One record as the consumer would dead-letter it (source partition i % 3, offset 100 + i). */
function dlqShaped(
  s: Scenario,
  item: { id: string; reason: DeadLetterReason; value: string; truncated?: boolean },
  i: number,
) {
  const record = {
    partition: i % 3,
    offset: String(100 + i),
    key: new TextEncoder().encode(item.id),
    value: new TextEncoder().encode(item.value),
    headers: { schema: "orderflow.order.v1", produced_at: "1764990000000", trace: item.id },
    timestamp: "0",
  };
  return dlqMessage(
    { kind: "dead-letter", record, reason: item.reason, detail: `test ${item.reason}` },
    s.topic,
    Date.now(),
    item.truncated ? 10 : undefined,
  );
}

/**
 * A = orders dead-lettered as invalid_order that the "fixed" consumer accepts; B = invalid JSON
 * (still bad after the fix); T = a truncated copy. Interleaved A B A B A B A T on one partition.
 */
function corpus(prefix: string) {
  const a = [0, 1, 2, 3].map((i) => `${prefix}-a${i}`);
  const b = [0, 1, 2].map((i) => `${prefix}-b${i}`);
  const items = [
    ...a.flatMap((id, i) => [
      { id, reason: "invalid_order" as const, value: JSON.stringify(orderJson(id, i)) },
      ...(b[i] === undefined
        ? []
        : [{ id: b[i]!, reason: "invalid_json" as const, value: `{"orderId":"${b[i]}"` }]),
    ]),
    {
      id: `${prefix}-t`,
      reason: "oversized" as const,
      value: JSON.stringify(orderJson(`${prefix}-t`, 9)),
      truncated: true,
    },
  ];
  return { a, b, items };
}

/** Like `scenario`, with a 2-partition dead-letter topic. */
async function redriveScenario(name: string): Promise<Scenario> {
  const topic = uniqueName(`ctest-${name}`);
  await createTopic(topic, 3);
  await createTopic(`${topic}.dlq`, 2);
  return {
    topic,
    dlq: `${topic}.dlq`,
    group: `${topic}-group`,
    dir: `./data/test/${topic}`,
    prefix: `test/${topic}/`,
  };
}

Deno.test("dlq redrive --dry-run sends nothing and commits nothing", async () => {
  const s = await redriveScenario("dlqdry");
  try {
    await seedDeadLetters(s, corpus(`${s.topic}-p0`).items, 0);
    await seedDeadLetters(s, corpus(`${s.topic}-p1`).items, 1);
    const r = JSON.parse(ok0(await dlq(s, [...README_DLQ.dryRun, "--json"])).stdout);
    assert.equal(r.dry_run, true);
    assert.deepEqual(r.totals, { sent: 8, already_sent: 0, held: 6, truncated: 2, deferred: 0 });
    const all = JSON.parse(ok0(await dlq(s, ["redrive", "--dry-run", "--json"])).stdout);
    assert.equal(all.totals.sent, 14, "a dry run left nothing behind that hides records");
    assert.equal(await recordCount(s.topic), 0, "nothing reached ORDERS_TOPIC");
    const c = await committed(`${s.group}.dlq-redrive`, s.dlq);
    assert.deepEqual([...c.values()].filter((o) => o >= 0n), [], "nothing committed");
  } finally {
    await cleanup(s);
  }
});

Deno.test("dlq redrive after a fix: the consumer stores the orders, each record is sent once", async () => {
  const s = await redriveScenario("dlqredrive");
  try {
    const p0 = corpus(`${s.topic}-p0`), p1 = corpus(`${s.topic}-p1`);
    await seedDeadLetters(s, p0.items, 0);
    await seedDeadLetters(s, p1.items, 1);
    const a = [...p0.a, ...p1.a], b = [...p0.b, ...p1.b], items = [...p0.items, ...p1.items];

    // 1. Only the fixed reason: A is sent; B is held for later; T is never sent.
    const first = JSON.parse(
      ok0(await dlq(s, [...README_DLQ.redrive, "--json"])).stdout,
    );
    assert.deepEqual(first.totals, {
      sent: 8,
      already_sent: 0,
      held: 6,
      truncated: 2,
      deferred: 0,
    });
    assert.deepEqual(first.by_reason.invalid_order.sent, 8);
    assert.equal(await recordCount(s.topic), 8);

    // 2. The same command again sends nothing (A after the first held B is remembered in the
    //    group's commit metadata, A before it is below the committed offset).
    const again = JSON.parse(
      ok0(await dlq(s, ["redrive", "--reason", "invalid_order", "--json"])).stdout,
    );
    assert.equal(again.totals.sent, 0);
    assert.equal(await recordCount(s.topic), 8);

    // 3. Without a filter: the held B records are reached, A is not sent again.
    const rest = JSON.parse(ok0(await dlq(s, ["redrive", "--json"])).stdout);
    assert.equal(rest.totals.sent, 6);
    assert.equal(rest.by_reason.invalid_json.sent, 6);
    assert.equal(await recordCount(s.topic), 14);
    const last = JSON.parse(ok0(await dlq(s, ["redrive", "--json"])).stdout);
    assert.equal(last.totals.sent, 0);
    assert.equal(last.read, 0, "the group's committed offset is at the end");
    assert.equal(await recordCount(s.topic), 14);

    // What was sent: original key, bytes and headers, no dlq.* header but dlq.redriven_from.
    await createTopic(`${s.dlq}.2`, 1);
    const consumer = new ConsumerProcess(
      plaintextEnv(consumerEnv({ ...s, dlq: `${s.dlq}.2` })),
      ["--max-records", "14"],
    );
    assert.equal(await consumer.exit(), 0, consumer.lines.join("\n"));
    const stored = await storedLocal(s.dir);
    assert.deepEqual([...stored.keys()].sort(), [...a].sort(), "every fixed order is stored");
    const back = await readDlq(`${s.dlq}.2`);
    assert.deepEqual(back.map((r) => r.key).sort(), [...b].sort(), "still-invalid ones return");
    for (const r of back) {
      const original = items.find((i) => i.id === r.key)!;
      assert.equal(new TextDecoder().decode(r.value!), original.value, "original bytes");
      assert.equal(r.headers.trace, r.key, "original headers kept");
      assert.equal(r.headers["dlq.reason"], "invalid_json");
      assert.match(r.headers["dlq.redriven_from"] ?? "", /^[01]@\d+$/, "redrive history kept");
    }
  } finally {
    await cleanup(s);
    await deleteTopic(`${s.dlq}.2`).catch(() => undefined);
  }
});

Deno.test("dlq redrive republishes original bytes and headers plus dlq.redriven_from", async () => {
  const s = await redriveScenario("dlqheaders");
  try {
    const { items } = corpus(s.topic);
    await seedDeadLetters(s, items.slice(0, 2));
    ok0(await dlq(s, ["redrive"]));
    const seen: { key: string; value: string; headers: Record<string, string> }[] = [];
    const reader = plaintextKafka().consumer({ groupId: uniqueName("dlqtest-read") });
    await reader.connect();
    await reader.subscribe({ topics: [s.topic], fromBeginning: true });
    const { promise, resolve } = Promise.withResolvers<void>();
    await reader.run({
      eachMessage: ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        seen.push({ key: String(message.key), value: String(message.value), headers });
        if (seen.length === 2) resolve();
        return Promise.resolve();
      },
    });
    const timer = setTimeout(resolve, 20_000);
    await promise;
    clearTimeout(timer);
    await reader.disconnect();
    const dead = await readDlq(s.dlq);
    for (const r of seen) {
      const original = items.find((i) => i.id === r.key)!;
      assert.equal(r.value, original.value);
      // One partition: a record's offset is its position.
      const offset = dead.findIndex((d) => d.key === r.key);
      assert.deepEqual(r.headers, {
        schema: "orderflow.order.v1",
        produced_at: "1764990000000",
        trace: r.key,
        "dlq.redriven_from": `0@${offset}`,
      });
    }
  } finally {
    await cleanup(s);
  }
});

Deno.test("dlq: a record redriven unfixed is dead-lettered again and says where it came from", async () => {
  const s = await scenario("dlqagain", 1); // one partition each: a DLQ record's index is its offset
  try {
    const key = `${s.topic}-bad`;
    const value = `{"orderId":"${key}"`; // invalid JSON: no consumer fix makes it pass
    await produce(s.topic, [{ key, value }]);
    const consume = async () => {
      const c = new ConsumerProcess(plaintextEnv(consumerEnv(s)), ["--max-records", "1"]);
      assert.equal(await c.exit(), 0, c.lines.join("\n"));
    };
    // Generation 1 (0@0) by the consumer; its redriven copy fails again as generation 2 (0@1);
    // that one redriven fails again as generation 3 (0@2).
    await consume();
    for (const expected of [1, 2]) {
      assert.equal(JSON.parse(ok0(await dlq(s, ["redrive", "--json"])).stdout).totals.sent, 1);
      await consume();
      assert.equal((await readDlq(s.dlq)).length, expected + 1);
    }
    const dead = await readDlq(s.dlq);
    assert.deepEqual(dead.map((r) => r.headers["dlq.redriven_from"]), [undefined, "0@0", "0@1"]);
    for (const [i, r] of dead.entries()) {
      assert.equal(r.key, key);
      assert.equal(new TextDecoder().decode(r.value!), value, "original bytes");
      assert.equal(r.headers.schema, "orderflow.order.v1", "original headers kept");
      assert.equal(r.headers["dlq.reason"], "invalid_json");
      assert.equal(r.headers["dlq.source.offset"], String(i), "its own source, not the first");
    }

    const text = ok0(await dlq(s, ["show"])).stdout;
    assert.match(text, /^--- 0@0 invalid_json, failed [^,]+$/m, "a first failure");
    assert.match(text, /^--- 0@1 invalid_json, failed [^,]+, redriven from 0@0$/m);
    assert.match(text, /^--- 0@2 invalid_json, failed [^,]+, redriven from 0@1$/m);
    assert.match(text, /^ {2}dlq\.redriven_from: 0@1$/m);
    const lines = ok0(await dlq(s, ["show", "--json"])).stdout.trim().split("\n");
    assert.deepEqual(lines.map((l) => JSON.parse(l).redriven_from), [null, "0@0", "0@1"]);
    const stats = JSON.parse(ok0(await dlq(s, ["stats", "--json"])).stdout);
    assert.equal(stats.total, 3);
    assert.equal(stats.redriven, 2);
    assert.match(
      ok0(await dlq(s, README_DLQ.stats)).stdout,
      /^redriven before and dead-lettered again \(dlq\.redriven_from\): 2$/m,
    );
  } finally {
    await cleanup(s);
  }
});

Deno.test("dlq: --help, usage, settings and connection errors have their exit codes", async () => {
  const s = { topic: uniqueName("dlqerr"), dlq: "x.dlq", group: "g", dir: "", prefix: "" };
  const help = await dlq(s, ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage:/m);
  const usage = await dlq(s, ["show", "--since", "1h"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^dlq: Cannot use --since with show\nrun with --help for usage\n$/m);
  const settings = await dlq(s, ["stats"], { KAFKA_SECURITY_PROTOCOL: "bogus" });
  assert.equal(settings.code, 2);
  assert.match(settings.stderr, /KAFKA_SECURITY_PROTOCOL/);
  const missing = await dlq(s, ["stats"], { DLQ_TOPIC: `${s.topic}.dlq` });
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /Cannot use topic "dlqerr-.*\.dlq" \(DLQ_TOPIC\): it does not exist\n/,
  );
  const refused = await dlq(s, ["stats", "--timeout", "3"], { KAFKA_BROKERS: "127.0.0.1:1" });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Cannot talk to Kafka at 127\.0\.0\.1:1 .*refused/);
});

Deno.test("dlq stats and redrive work over SASL_SSL (the IBM Event Streams shape)", async () => {
  const s = await redriveScenario("dlqsasl");
  try {
    await seedDeadLetters(s, corpus(s.topic).items);
    const sasl = saslEnv();
    const env = {
      KAFKA_BROKERS: sasl.KAFKA_BROKERS!,
      KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
      KAFKA_USERNAME: sasl.KAFKA_USERNAME ?? "token",
      KAFKA_PASSWORD: sasl.KAFKA_PASSWORD!,
      KAFKA_CA_FILE: sasl.KAFKA_CA_FILE!,
    };
    const stats = JSON.parse(ok0(await dlq(s, ["stats", "--json"], env)).stdout);
    assert.equal(stats.total, 8);
    const r = JSON.parse(ok0(await dlq(s, ["redrive", "--json"], env)).stdout);
    assert.equal(r.totals.sent, 7);
    assert.equal(await recordCount(s.topic), 7);
    const bad = await dlq(s, ["stats"], { ...env, KAFKA_PASSWORD: "wrong-pass-7f3a" });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /authentication failed/i);
    assert.ok(!bad.stderr.includes("wrong-pass-7f3a"), "the password is not printed");
  } finally {
    await cleanup(s);
  }
});

Deno.test("dlq redrive: when the group's metadata is full it defers, exits 1, and loses nothing", async () => {
  const s = await redriveScenario("dlqfull");
  try {
    // Worst case for the metadata: every other record is held by the filter.
    const n = 4000;
    const items = Array.from({ length: n }, (_, i) => ({
      id: `${s.topic}-${i}`,
      reason: i % 2 === 0 ? "invalid_json" as const : "invalid_order" as const,
      value: JSON.stringify(orderJson(`${s.topic}-${i}`, i)),
    }));
    for (let i = 0; i < n; i += 1000) await seedDeadLetters(s, items.slice(i, i + 1000));
    const first = await dlq(s, [...README_DLQ.redrive, "--json"]);
    assert.equal(first.code, 1, first.stderr);
    assert.match(
      first.stderr,
      /Cannot redrive \d+ matching records in this run: .*\nRedrive the held/,
    );
    const r = JSON.parse(first.stdout);
    assert.ok(r.totals.deferred > 0 && r.totals.sent > 0, JSON.stringify(r.totals));
    assert.match(r.error, /^Cannot redrive \d+ matching records/);
    assert.equal(r.totals.sent + r.totals.deferred, n / 2);
    assert.equal(await recordCount(s.topic), r.totals.sent);

    // Without the filter: everything not yet sent goes, nothing twice.
    const rest = JSON.parse(ok0(await dlq(s, ["redrive", "--json"])).stdout);
    assert.equal(rest.totals.sent, n - r.totals.sent);
    assert.equal(rest.totals.deferred, 0);
    assert.equal(await recordCount(s.topic), n);
  } finally {
    await cleanup(s);
  }
});

Deno.test("dlq redrive: SIGINT stops after the current batch, commits it, and leaves the group", async () => {
  const s = await redriveScenario("dlqsigint");
  try {
    const n = 30_000;
    const value = (id: string, i: number) => JSON.stringify(orderJson(id, i));
    for (let i = 0; i < n; i += 1000) {
      await seedDeadLetters(
        s,
        Array.from({ length: 1000 }, (_, k) => {
          const id = `${s.topic}-${i + k}`;
          return { id, reason: "invalid_order" as const, value: value(id, i + k) };
        }),
        (i / 1000) % 2,
      );
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=dlq", "dlq/main.ts", "redrive", "--json", "--progress-interval", "0.02"],
      cwd: repoPath("./"),
      env: {
        KAFKA_BROKERS: "localhost:9092",
        ORDERS_TOPIC: s.topic,
        DLQ_TOPIC: s.dlq,
        CONSUMER_GROUP: s.group,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = new Response(child.stdout).text();
    let stderr = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    while (!/dlq: read \d+\/\d+ records/.test(stderr)) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    child.kill("SIGINT");
    for (let r = await reader.read(); !r.done; r = await reader.read()) stderr += r.value;
    const status = await child.status;
    assert.equal(status.code, 130, stderr);
    assert.match(stderr, /SIGINT: stopping after the current batch/);
    const report = JSON.parse(await stdout);
    assert.ok(report.interrupted && report.totals.sent < n, JSON.stringify(report.totals));
    assert.equal(await recordCount(s.topic), report.totals.sent, "nothing sent but uncommitted");

    // At once, no "active member" refusal: the interrupted run left the group.
    const rest = JSON.parse(ok0(await dlq(s, ["redrive", "--json"])).stdout);
    assert.equal(rest.totals.sent, n - report.totals.sent);
    assert.equal(await recordCount(s.topic), n, "each record sent exactly once");
  } finally {
    await cleanup(s);
  }
});
