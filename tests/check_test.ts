/**
 * End-to-end tests of `deno task check` (tools/check.ts), run as a subprocess with the permission
 * set its task uses (`consume`) from the repository root, against the real local broker and S3
 * server.
 */
import assert from "node:assert/strict";
import { s3Env, saslEnv, uniqueName } from "./_infra.ts";

const ROOT = new URL("../", import.meta.url);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
  readonly ms: number;
}

/** Runs the check CLI with exactly `env` (plus what Deno itself needs) and `args`. */
async function runCheck(env: Record<string, string>, args: string[] = []): Promise<Run> {
  const passthrough: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) passthrough[name] = value;
  }
  const started = performance.now();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=consume", "tools/check.ts", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...passthrough, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  return { code, stdout: out, stderr: err, output: out + err, ms: performance.now() - started };
}

/** A SINK_DIR under ./data (the only place the consume permission set, which check uses, may write). */
async function withSinkDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = `./data/${uniqueName("check-test")}`;
  try {
    await fn(dir);
  } finally {
    await Deno.remove(new URL(dir, ROOT), { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}

function assertAbsent(run: Run, secrets: readonly (string | undefined)[]): void {
  for (const secret of secrets) {
    if (secret === undefined || secret === "") continue;
    assert.ok(!run.output.includes(secret), "a secret was printed");
  }
  assert.ok(!run.output.includes("TimeoutNegativeWarning"), run.stderr);
}

function row(run: Run, check: string, target?: string): string {
  const line = run.stdout.split("\n").find((l) =>
    l.startsWith(`${check} `) && (target === undefined || l.includes(` ${target} `))
  );
  assert.ok(line !== undefined, `no ${check} row in:\n${run.output}`);
  return line;
}

Deno.test("check passes on PLAINTEXT with a local sink and leaves no probe file", async () => {
  await withSinkDir(async (dir) => {
    const run = await runCheck({ SINK_DIR: dir });
    assert.equal(run.code, 0, run.output);
    assert.match(row(run, "kafka.connect"), /OK\s+connected \(PLAINTEXT\)/);
    assert.match(row(run, "kafka.topic", "orders"), /OK\s+exists, \d+ partition\(s\)/);
    assert.match(row(run, "kafka.topic", "orders.dlq"), /OK\s+exists/);
    assert.match(row(run, "kafka.group"), /OK\s+coordinator reachable/);
    assert.match(row(run, "storage.local"), /OK\s+writable/);
    assert.match(row(run, "plugins.manifest"), /OK\s+manifest\.json valid/);
    assert.match(row(run, "plugins.scorer", "web"), /OK\s+web started in its sandbox/);
    assert.match(run.stdout, /All checks passed\./);
    assert.deepEqual([...Deno.readDirSync(new URL(dir, ROOT))], []);
  });
});

Deno.test("check passes on SASL_SSL with the generated CA and never prints the password", async () => {
  const env = saslEnv();
  const run = await runCheck({ ...env });
  assert.equal(run.code, 0, run.output);
  assert.match(row(run, "kafka.connect"), /OK\s+connected \(SASL_SSL as "token", custom CA\)/);
  assert.match(run.stdout, /password=\*\*\*/);
  assertAbsent(run, [env.KAFKA_PASSWORD]);
});

Deno.test("check accepts the Event Streams credential JSON inline and as a file", async () => {
  const env = saslEnv();
  const credential = JSON.stringify({
    kafka_brokers_sasl: env.KAFKA_BROKERS!.split(","),
    user: env.KAFKA_USERNAME,
    api_key: env.KAFKA_PASSWORD,
    password: env.KAFKA_PASSWORD,
  });
  const inline = await runCheck({
    EVENT_STREAMS_CREDENTIALS: credential,
    KAFKA_CA_FILE: env.KAFKA_CA_FILE!,
  });
  assert.equal(inline.code, 0, inline.output);
  assert.match(row(inline, "kafka.connect"), /OK\s+connected \(SASL_SSL/);
  assertAbsent(inline, [env.KAFKA_PASSWORD]);

  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, credential);
    const fromFile = await runCheck({
      EVENT_STREAMS_CREDENTIALS_FILE: file,
      KAFKA_CA_FILE: env.KAFKA_CA_FILE!,
    });
    assert.equal(fromFile.code, 0, fromFile.output);
    assertAbsent(fromFile, [env.KAFKA_PASSWORD]);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("check with a wrong password exits 1, says authentication, prints no password", async () => {
  const env = saslEnv();
  const wrong = `wrong-${crypto.randomUUID()}`;
  const run = await runCheck({ ...env, KAFKA_PASSWORD: wrong });
  assert.equal(run.code, 1, run.output);
  assert.match(row(run, "kafka.connect"), /FAIL\s+Kafka authentication failed/);
  assert.match(run.stdout, /→ check KAFKA_PASSWORD/);
  assert.match(row(run, "kafka.topic", "orders"), /SKIP/);
  assertAbsent(run, [wrong, env.KAFKA_PASSWORD]);
});

Deno.test("check explains a PLAINTEXT client on the SASL_SSL port, quickly", async () => {
  const run = await runCheck({ KAFKA_BROKERS: "localhost:9093", SINK_DIR: "./data/out" });
  assert.equal(run.code, 1, run.output);
  assert.match(row(run, "kafka.connect"), /FAIL\s+.*PLAINTEXT client on a TLS port\?/);
  assert.match(run.stdout, /set KAFKA_SECURITY_PROTOCOL=SASL_SSL/);
  assert.ok(run.ms < 20_000, `took ${run.ms} ms`);
});

Deno.test("check reports a missing topic with its name", async () => {
  const topic = uniqueName("check-missing");
  const run = await runCheck({ ORDERS_TOPIC: topic });
  assert.equal(run.code, 1, run.output);
  assert.match(row(run, "kafka.topic", topic), /FAIL\s+Kafka topic does not exist/);
  assert.match(row(run, "kafka.topic", "orders.dlq"), /OK/);
});

Deno.test("check passes against the S3 server with HMAC keys and with IAM", async () => {
  const s3 = s3Env();
  for (const auth of ["hmac", "iam"]) {
    const endpoint = auth === "iam" ? s3.COS_IAM_ENDPOINT! : s3.COS_ENDPOINT!;
    const run = await runCheck({ ...s3, SINK: "cos", COS_AUTH: auth, COS_ENDPOINT: endpoint });
    assert.equal(run.code, 0, run.output);
    assert.match(row(run, "cos.bucket"), new RegExp(`OK\\s+bucket exists .*${auth.toUpperCase()}`));
    assert.match(row(run, "cos.write"), /OK\s+put and deleted probe object _orderflow_check\//);
    if (auth === "iam") assert.match(row(run, "cos.iam-token"), /OK\s+token issued/);
    assertAbsent(run, [s3.COS_API_KEY, s3.COS_HMAC_SECRET_ACCESS_KEY]);
  }
});

Deno.test("check with a wrong IAM key exits 1 with IAM's answer and no key", async () => {
  const s3 = s3Env();
  const wrong = `wrong-${crypto.randomUUID()}`;
  const run = await runCheck({ ...s3, SINK: "cos", COS_AUTH: "iam", COS_API_KEY: wrong });
  assert.equal(run.code, 1, run.output);
  assert.match(row(run, "cos.iam-token"), /FAIL\s+IAM rejected the COS API key: .*BXNIM0415E/);
  assert.match(run.stdout, /→ set COS_API_KEY/);
  assert.match(row(run, "cos.bucket"), /SKIP/);
  assertAbsent(run, [wrong, s3.COS_API_KEY]);
});

Deno.test("check with a wrong HMAC secret exits 1: the S3 server refuses the signature", async () => {
  const s3 = s3Env();
  const wrong = `wrong-${crypto.randomUUID()}`;
  const run = await runCheck({
    ...s3,
    SINK: "cos",
    COS_AUTH: "hmac",
    COS_HMAC_SECRET_ACCESS_KEY: wrong,
  });
  assert.equal(run.code, 1, run.output);
  assert.match(row(run, "cos.bucket"), /FAIL\s+COS rejected the HMAC keys/);
  assert.match(run.stdout, /→ set COS_HMAC_ACCESS_KEY_ID \/ COS_HMAC_SECRET_ACCESS_KEY/);
  assertAbsent(run, [wrong, s3.COS_HMAC_SECRET_ACCESS_KEY]);
});

Deno.test("check with invalid settings exits 2 and lists every problem, no secret", async () => {
  const run = await runCheck({
    KAFKA_PASSWORD: "plaintext-secret-123",
    HTTP_PORT: "70000",
    SINK: "cos",
  });
  assert.equal(run.code, 2, run.output);
  assert.match(run.stderr, /Settings are invalid \(\d+ problem\(s\)\):/);
  for (const v of ["KAFKA_SECURITY_PROTOCOL:", "HTTP_PORT:", "COS_ENDPOINT:", "COS_BUCKET:"]) {
    assert.ok(run.stderr.includes(`  - ${v}`), `${v} missing in:\n${run.stderr}`);
  }
  assertAbsent(run, ["plaintext-secret-123"]);
});

Deno.test("check --json prints one redacted JSON document", async () => {
  const env = saslEnv();
  const run = await runCheck({ ...env }, ["--json"]);
  assert.equal(run.code, 0, run.output);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.ok, true);
  assert.equal(doc.exitCode, 0);
  assert.equal(doc.settings.kafka.sasl.password, "***");
  assert.ok(Array.isArray(doc.checks) && doc.checks.length >= 6);
  for (const c of doc.checks) {
    assert.equal(typeof c.check, "string");
    assert.ok(["OK", "WARN", "SKIP", "FAIL"].includes(c.status));
    assert.equal(typeof c.durationMs, "number");
  }
  assertAbsent(run, [env.KAFKA_PASSWORD]);

  const bad = await runCheck({ LOG_LEVEL: "loud" }, ["--json"]);
  assert.equal(bad.code, 2);
  assert.deepEqual(JSON.parse(bad.stdout).problems.length, 1);
});

Deno.test("check --help prints usage; an unknown flag exits 2", async () => {
  const help = await runCheck({}, ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno task check/);
  const bad = await runCheck({}, ["--frobnicate"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Cannot parse arguments/);
});

Deno.test("check fails when the scorer plugins cannot start, as the consumer would", async () => {
  await withSinkDir(async (dir) => {
    const missing = await runCheck({ SINK_DIR: dir, PLUGINS_DIR: `${dir}/no-plugins` });
    assert.equal(missing.code, 1, missing.output);
    assert.match(row(missing, "plugins.manifest"), /FAIL\s+Cannot load the scoring plugins/);
    assert.match(missing.stdout, /→ the consumer refuses to start without them/);

    const plugins = new URL(`${dir}/plugins/`, ROOT);
    await Deno.mkdir(plugins, { recursive: true });
    await Deno.copyFile(new URL("plugins/default.ts", ROOT), new URL("default.ts", plugins));
    await Deno.writeTextFile(new URL("web.ts", plugins), 'throw new Error("boom at import");\n');
    await Deno.writeTextFile(
      new URL("manifest.json", plugins),
      JSON.stringify({
        version: 1,
        discovery: false,
        scorers: [{ name: "web", channel: "web", module: "./web.ts", enabled: true, options: {} }],
        fallback: { module: "./default.ts", options: { score: 0.3 } },
      }),
    );
    const broken = await runCheck({ SINK_DIR: dir, PLUGINS_DIR: `${dir}/plugins` });
    assert.equal(broken.code, 1, broken.output);
    assert.match(row(broken, "plugins.scorer", "web"), /FAIL\s+failed: .*boom at import/);
    assert.match(row(broken, "plugins.scorer", "*"), /OK\s+default started in its sandbox/);
  });
});
