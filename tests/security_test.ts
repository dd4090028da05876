/**
 * Security, end to end through the CLIs: bad credentials and protocol mismatches fail clearly with
 * a non-zero exit; a full SASL_SSL + COS (IAM) run never prints or serves a secret; a hostile
 * scorer plugin in a real consumer run can read no secret and reach no network.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  consumerEnv,
  ConsumerProcess,
  createBucket,
  deleteBucket,
  produce,
  scenario,
  storedLocal,
  until,
} from "./consumer_support.ts";
import { s3Env, saslEnv } from "./_infra.ts";
import { ProducerProcess } from "./fault_support.ts";
import { order } from "./fixtures/bad_records.ts";

const decoder = new TextDecoder();

/** Runs `deno run -P=<set> <main> ...args` (the task's set) with `env`; SIGKILL after `timeoutMs`. */
async function cli(
  set: "produce" | "consume" | "check",
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<{ code: number; out: string }> {
  const main =
    { produce: "producer/main.ts", consume: "consumer/main.ts", check: "tools/check.ts" }[
      set
    ];
  const child = new Deno.Command(Deno.execPath(), {
    // check runs with consume's permission set (deno.json): it starts the scorer plugins too.
    args: ["run", `-P=${set === "check" ? "consume" : set}`, main, ...args],
    env: { HTTP_PORT: "0", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, out: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

function saslSettings(overrides: Record<string, string> = {}): Record<string, string> {
  const env = saslEnv();
  return {
    KAFKA_BROKERS: env.KAFKA_BROKERS!,
    KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    KAFKA_USERNAME: env.KAFKA_USERNAME!,
    KAFKA_PASSWORD: env.KAFKA_PASSWORD!,
    KAFKA_CA_FILE: env.KAFKA_CA_FILE!,
    SINK_DIR: "./data/test/security",
    ...overrides,
  };
}

const RUNS: readonly [string, "produce" | "consume" | "check", string[]][] = [
  ["produce", "produce", ["--count", "5", "--timeout", "15", "--topic", "orders"]],
  ["consume", "consume", ["--max-records", "1"]],
  ["check", "check", ["--timeout", "10"]],
];

Deno.test("produce, consume and check fail clearly with a wrong SASL password", async () => {
  for (const [name, set, args] of RUNS) {
    const r = await cli(set, args, saslSettings({ KAFKA_PASSWORD: "wrong-password-123" }));
    assert.notEqual(r.code, 0, `${name} exit code\n${r.out}`);
    assert.match(r.out, /authentication failed|SASL.*(failed|invalid)/i, `${name}:\n${r.out}`);
    assert.doesNotMatch(r.out, /wrong-password-123/, `${name} printed the password`);
  }
});

Deno.test("produce, consume and check fail clearly when PLAINTEXT talks to the TLS port", async () => {
  for (const [name, set, args] of RUNS) {
    const r = await cli(
      set,
      args,
      saslSettings({ KAFKA_SECURITY_PROTOCOL: "PLAINTEXT", KAFKA_PASSWORD: "" }),
    );
    assert.notEqual(r.code, 0, `${name} exit code\n${r.out}`);
    assert.match(r.out, /TLS|SASL_SSL/, `${name} names the protocol mismatch:\n${r.out}`);
  }
});

Deno.test(
  "a SASL_SSL + COS (IAM) run prints and serves no secret",
  { sanitizeOps: false },
  async () => {
    const s = await scenario("security", 3);
    const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
    await createBucket(bucket);
    const s3 = s3Env();
    const kafkaPassword = saslEnv().KAFKA_PASSWORD!;
    const secrets = {
      KAFKA_PASSWORD: kafkaPassword,
      COS_API_KEY: s3.COS_API_KEY!,
      COS_HMAC_SECRET_ACCESS_KEY: s3.COS_HMAC_SECRET_ACCESS_KEY!,
    };
    for (const [k, v] of Object.entries(secrets)) assert.ok(v.length >= 8, `${k} is a real secret`);
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const httpPort = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const env = saslSettings({
      ORDERS_TOPIC: s.topic,
      DLQ_TOPIC: s.dlq,
      CONSUMER_GROUP: s.group,
      SINK: "cos",
      COS_AUTH: "iam",
      COS_ENDPOINT: s3.COS_IAM_ENDPOINT!,
      COS_BUCKET: bucket,
      COS_API_KEY: s3.COS_API_KEY!,
      COS_INSTANCE_ID: s3.COS_INSTANCE_ID!,
      COS_AUTH_ENDPOINT: s3.COS_AUTH_ENDPOINT!,
      // present but unused (IAM chosen): must not leak either
      COS_HMAC_ACCESS_KEY_ID: s3.COS_HMAC_ACCESS_KEY_ID!,
      COS_HMAC_SECRET_ACCESS_KEY: s3.COS_HMAC_SECRET_ACCESS_KEY!,
      LOG_LEVEL: "debug",
    });
    let proc: ConsumerProcess | undefined;
    const captured: string[] = [];
    try {
      const producer = await new ProducerProcess(env, ["--topic", s.topic, "--count", "200"])
        .result();
      assert.equal(producer.code, 0, producer.stderr);
      captured.push(producer.stderr, JSON.stringify(producer.summary));
      await produce(s.topic, [{ key: "bad", value: "{broken" }]); // a DLQ path too

      proc = new ConsumerProcess({ ...env, HTTP_PORT: String(httpPort) }, [
        "--summary-interval",
        "500",
      ]);
      await proc.waitFor(/stored=200 dlq=1/, 90_000);
      const base = `http://127.0.0.1:${httpPort}`;
      const index = await (await fetch(`${base}/`)).text();
      captured.push(index);
      const paths = new Set(["/metrics", "/healthz", "/readyz", "/api/snapshot", "/index.html"]);
      for (const m of index.matchAll(/(?:src|href)="(\/[^"]*)"/g)) paths.add(m[1]!);
      for (const path of paths) {
        const res = await fetch(`${base}${path}`);
        captured.push(`${path} ${res.status}\n${await res.text()}`);
      }
      captured.push(...[...paths].map((p) => `scraped ${p}`));
      proc.kill("SIGTERM");
      assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
      captured.push(proc.lines.join("\n"));
      proc = undefined;

      const check = await cli("check", ["--json"], env);
      assert.equal(check.code, 0, check.out);
      captured.push(check.out);
      const check2 = await cli("check", [], env);
      captured.push(check2.out);

      const all = captured.join("\n");
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!all.includes(value), `${name} appears in the captured output`);
      }
      assert.ok(all.includes("stored=200"), "the capture holds the consumer's output");
      console.error(`  scanned ${all.length} characters from ${paths.size + 4} sources: no secret`);
    } finally {
      if (proc !== undefined) {
        try {
          proc.kill("SIGKILL");
        } catch {
          // already exited
        }
        await proc.exit().catch(() => undefined);
      }
      await deleteBucket(bucket);
      await cleanup(s);
    }
  },
);

Deno.test("a hostile plugin in a real consumer run reads no secret, reaches no network, falls back", async () => {
  const s = await scenario("hostile", 1);
  const pluginsDir = `${s.dir}-plugins`;
  await Deno.mkdir(pluginsDir, { recursive: true });
  // the network canary: any connection from the plugin would land here
  const canary = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const canaryPort = (canary.addr as Deno.NetAddr).port;
  let connections = 0;
  const accepting = (async () => {
    try {
      for await (const conn of canary) {
        connections++;
        conn.close();
      }
    } catch {
      // closed
    }
  })();
  await Deno.copyFile("plugins/default.ts", `${pluginsDir}/default.ts`);
  await Deno.writeTextFile(
    `${pluginsDir}/evil.ts`,
    `import { defineScorer } from "@orderflow/scorer";
export default defineScorer({
  spec: { name: "evil", channel: "evil", apiVersion: 1, description: "hostile", options: {} },
  create() {
    return {
      score(order) {
        if (order.total < 500) return 0.2;
        fetch("http://127.0.0.1:${canaryPort}/steal").catch(() => {});
        const password = Deno.env.get("KAFKA_PASSWORD");
        return password === undefined ? 0.02 : 0.01;
      },
    };
  },
});
`,
  );
  await Deno.writeTextFile(
    `${pluginsDir}/manifest.json`,
    JSON.stringify({
      version: 1,
      discovery: true,
      scorers: [],
      fallback: { module: "./default.ts", options: { score: 0.3 } },
    }),
  );
  const item = (price: number) => [{ sku: "SKU-1", quantity: 1, unit_price: price }];
  const messages = Array.from({ length: 40 }, (_, i) => {
    const id = `evil-${i}`;
    const price = i % 2 === 0 ? 600 : 100;
    return {
      key: id,
      value: JSON.stringify(order(id, { channel: "evil", items: item(price), total: price })),
    };
  });
  messages.push({ key: "web-1", value: JSON.stringify(order("web-1")) });
  let proc: ConsumerProcess | undefined;
  try {
    await produce(s.topic, messages);
    proc = new ConsumerProcess(
      consumerEnv(s, {
        ...saslSettings({ SINK_DIR: s.dir }),
        HTTP_PORT: "0",
        PLUGINS_DIR: pluginsDir,
      }),
      ["--summary-interval", "500"],
    );
    await until("41 stored", async () => (await storedLocal(s.dir)).size === 41, 90_000);
    const stored = await storedLocal(s.dir);
    for (let i = 0; i < 40; i++) {
      const body = stored.get(`evil-${i}`)!.body;
      if (i % 2 === 0) {
        assert.equal(body.risk_score, 0.3, `evil-${i}: the hostile branch got the fallback`);
        assert.equal(body.scorer, "default");
      } else {
        assert.equal(body.risk_score, 0.2, `evil-${i}: the plugin's normal branch`);
        assert.equal(body.scorer, "evil");
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(connections, 0, "the plugin reached the network");
    assert.ok(!proc.lines.join("\n").includes(saslEnv().KAFKA_PASSWORD!));
    const exited = await Promise.race([
      proc.child.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
    ]);
    assert.equal(exited, false, "the consumer keeps going");
    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0);
    console.error(
      `  plugin failures logged: ${
        proc.lines.filter((l) => /evil/.test(l)).slice(0, 2).join(" | ").slice(0, 300)
      }`,
    );
    proc = undefined;
  } finally {
    if (proc !== undefined) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already exited
      }
      await proc.exit().catch(() => undefined);
    }
    canary.close();
    await accepting;
    await Deno.remove(pluginsDir, { recursive: true }).catch(() => undefined);
    await cleanup(s);
  }
});
