import assert from "node:assert/strict";
import {
  DEFAULTS,
  type Env,
  loadSettings,
  redact,
  redactSettings,
  secretsOf,
  type Settings,
  SettingsError,
} from "./settings.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
const CREDENTIAL = {
  api_key: "es-api-key-0123456789",
  apikey: "es-api-key-0123456789",
  kafka_admin_url: "https://admin.example.eventstreams.cloud.ibm.com",
  kafka_brokers_sasl: [
    "broker-0-abc.kafka.svc01.us-south.eventstreams.cloud.ibm.com:9093",
    "broker-1-abc.kafka.svc01.us-south.eventstreams.cloud.ibm.com:9093",
  ],
  password: "es-api-key-0123456789",
  user: "token",
};

function noFiles(path: string): string {
  throw new Error(`unexpected read of ${path}`);
}

function load(env: Env, files: Record<string, string> = {}): Settings {
  return loadSettings(env, {
    readTextFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Deno.errors.NotFound(`no ${path}`);
      return text;
    },
  });
}

function problemsOf(env: Env, files: Record<string, string> = {}): readonly string[] {
  try {
    load(env, files);
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  assert.fail("expected a SettingsError");
}

function assertProblem(problems: readonly string[], variable: string, pattern: RegExp): void {
  assert.ok(
    problems.some((p) => p.startsWith(`${variable}:`) && pattern.test(p)),
    `expected a ${variable} problem matching ${pattern}, got:\n${problems.join("\n")}`,
  );
}

Deno.test("loadSettings() applies the documented defaults to an empty environment", () => {
  const s = loadSettings({}, { readTextFile: noFiles });
  assert.deepEqual(s, {
    kafka: { brokers: ["localhost:9092"], securityProtocol: "PLAINTEXT", clientId: "orderflow" },
    topics: { orders: "orders", dlq: "orders.dlq" },
    consumer: {
      groupId: "orderflow-consumer",
      sessionTimeoutMs: 30_000,
      fetchMaxBytes: 2 * 1024 * 1024,
      fetchMaxBytesPerPartition: 256 * 1024,
    },
    sink: { kind: "local", dir: "./data/out", layout: "per-order" },
    http: { host: "127.0.0.1", port: 8787 },
    pluginsDir: "./plugins",
    logLevel: "info",
  });
  assert.equal(DEFAULTS.COS_AUTH_ENDPOINT, "https://iam.cloud.ibm.com/identity/token");
});

Deno.test("loadSettings() freezes the settings deeply", () => {
  const s = loadSettings({ KAFKA_BROKERS: "a:1,b:2" });
  assert.ok(Object.isFrozen(s));
  assert.ok(Object.isFrozen(s.kafka));
  assert.ok(Object.isFrozen(s.kafka.brokers));
  assert.ok(Object.isFrozen(s.sink));
  assert.throws(() => (s.kafka.brokers as string[]).push("c:3"), TypeError);
});

Deno.test("loadSettings() treats empty and blank values as unset", () => {
  const s = loadSettings({ KAFKA_BROKERS: "", KAFKA_PASSWORD: "  ", SINK: "", HTTP_PORT: "" });
  assert.deepEqual(s.kafka.brokers, ["localhost:9092"]);
  assert.equal(s.kafka.sasl, undefined);
  assert.equal(s.http.port, 8787);
});

Deno.test("loadSettings() trims and splits KAFKA_BROKERS", () => {
  const s = loadSettings({ KAFKA_BROKERS: " a.example.com:9092 , [::1]:9093,," });
  assert.deepEqual(s.kafka.brokers, ["a.example.com:9092", "[::1]:9093"]);
});

Deno.test("loadSettings() accepts the Event Streams credential JSON as it is", () => {
  const s = loadSettings({ EVENT_STREAMS_CREDENTIALS: JSON.stringify(CREDENTIAL) });
  assert.deepEqual(s.kafka.brokers, CREDENTIAL.kafka_brokers_sasl);
  assert.equal(s.kafka.securityProtocol, "SASL_SSL");
  assert.deepEqual(s.kafka.sasl, {
    mechanism: "plain",
    username: "token",
    password: "es-api-key-0123456789",
  });
  assert.equal(s.kafka.ca, undefined);
});

Deno.test("loadSettings() takes api_key when the credential has no password", () => {
  const { password: _, ...onlyApiKey } = CREDENTIAL;
  const s = loadSettings({ EVENT_STREAMS_CREDENTIALS: JSON.stringify(onlyApiKey) });
  assert.equal(s.kafka.sasl?.password, CREDENTIAL.api_key);
});

Deno.test("loadSettings() lets explicit variables override credential JSON fields", () => {
  const s = loadSettings({
    EVENT_STREAMS_CREDENTIALS: JSON.stringify(CREDENTIAL),
    KAFKA_BROKERS: "localhost:9093",
    KAFKA_USERNAME: "someone",
    KAFKA_API_KEY: "override-key",
  });
  assert.deepEqual(s.kafka.brokers, ["localhost:9093"]);
  assert.deepEqual(s.kafka.sasl, {
    mechanism: "plain",
    username: "someone",
    password: "override-key",
  });
});

Deno.test("loadSettings() prefers KAFKA_PASSWORD over its alias KAFKA_API_KEY", () => {
  const s = loadSettings({
    KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    KAFKA_PASSWORD: "primary",
    KAFKA_API_KEY: "alias",
  });
  assert.equal(s.kafka.sasl?.password, "primary");
});

Deno.test("loadSettings() reads EVENT_STREAMS_CREDENTIALS_FILE and KAFKA_CA_FILE via readTextFile", () => {
  const s = load(
    { EVENT_STREAMS_CREDENTIALS_FILE: "/creds.json", KAFKA_CA_FILE: "/ca.pem" },
    { "/creds.json": JSON.stringify(CREDENTIAL), "/ca.pem": PEM },
  );
  assert.equal(s.kafka.securityProtocol, "SASL_SSL");
  assert.equal(s.kafka.ca, PEM);
  assert.equal(s.kafka.sasl?.password, CREDENTIAL.password);
});

Deno.test("loadSettings() reports unreadable files with the variable and path", () => {
  const problems = problemsOf({
    KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    KAFKA_PASSWORD: "x",
    KAFKA_CA_FILE: "/missing/ca.pem",
  });
  assertProblem(problems, "KAFKA_CA_FILE", /cannot read \/missing\/ca\.pem: no such file/);
});

Deno.test("loadSettings() rejects a CA file without a PEM certificate", () => {
  const problems = problemsOf(
    { KAFKA_SECURITY_PROTOCOL: "SASL_SSL", KAFKA_PASSWORD: "x", KAFKA_CA_FILE: "/ca.der" },
    { "/ca.der": "\u0030\u0082binary" },
  );
  assertProblem(problems, "KAFKA_CA_FILE", /no PEM certificate/);
});

Deno.test("loadSettings() reports invalid credential JSON without quoting it", () => {
  const problems = problemsOf({
    EVENT_STREAMS_CREDENTIALS: '{"password": "leaky-secret-value", oops}',
  });
  assertProblem(problems, "EVENT_STREAMS_CREDENTIALS", /not valid JSON/);
  assert.ok(!problems.join("\n").includes("leaky-secret-value"));
});

Deno.test("loadSettings() rejects a credential that is not an object, and bad field types", () => {
  assertProblem(
    problemsOf({ EVENT_STREAMS_CREDENTIALS: "[1,2]" }),
    "EVENT_STREAMS_CREDENTIALS",
    /must be a JSON object/,
  );
  const problems = problemsOf({
    EVENT_STREAMS_CREDENTIALS: JSON.stringify({ kafka_brokers_sasl: 5, password: 7 }),
  });
  assertProblem(problems, "EVENT_STREAMS_CREDENTIALS", /kafka_brokers_sasl must be an array/);
  assertProblem(problems, "EVENT_STREAMS_CREDENTIALS", /"password" must be a string/);
});

Deno.test("loadSettings() rejects both EVENT_STREAMS_CREDENTIALS and its _FILE form", () => {
  assertProblem(
    problemsOf({ EVENT_STREAMS_CREDENTIALS: "{}", EVENT_STREAMS_CREDENTIALS_FILE: "/c.json" }),
    "EVENT_STREAMS_CREDENTIALS",
    /keep only one/,
  );
});

Deno.test("loadSettings() rejects malformed brokers and ports", () => {
  const problems = problemsOf({
    KAFKA_BROKERS: "localhost,host:0,host:65536,host:abc,bad_host:9092,:9092,ok.example:9092",
  });
  assertProblem(problems, "KAFKA_BROKERS", /"localhost" is not host:port/);
  assertProblem(problems, "KAFKA_BROKERS", /"host:0" has port 0 outside 1-65535/);
  assertProblem(problems, "KAFKA_BROKERS", /"host:65536" has port 65536/);
  assertProblem(problems, "KAFKA_BROKERS", /"host:abc" has an invalid port/);
  assertProblem(problems, "KAFKA_BROKERS", /"bad_host:9092" has an invalid host/);
  assertProblem(problems, "KAFKA_BROKERS", /":9092" is not host:port/);
  assert.ok(!problems.some((p) => p.includes("ok.example")));
});

Deno.test("loadSettings() validates the security protocol (case-insensitively)", () => {
  assert.equal(
    loadSettings({ KAFKA_SECURITY_PROTOCOL: "sasl_ssl", KAFKA_PASSWORD: "p" }).kafka
      .securityProtocol,
    "SASL_SSL",
  );
  assertProblem(
    problemsOf({ KAFKA_SECURITY_PROTOCOL: "SSL" }),
    "KAFKA_SECURITY_PROTOCOL",
    /"SSL" is not supported; use PLAINTEXT .* or SASL_SSL/,
  );
});

Deno.test("loadSettings() requires a password for SASL_SSL", () => {
  assertProblem(
    problemsOf({ KAFKA_SECURITY_PROTOCOL: "SASL_SSL" }),
    "KAFKA_PASSWORD",
    /SASL_SSL needs a password; set KAFKA_PASSWORD/,
  );
});

Deno.test("loadSettings() flags a password with PLAINTEXT as a likely misconfiguration", () => {
  const problems = problemsOf({ KAFKA_PASSWORD: "do-not-print-me" });
  assertProblem(problems, "KAFKA_SECURITY_PROTOCOL", /likely a misconfiguration/);
  assertProblem(problems, "KAFKA_SECURITY_PROTOCOL", /KAFKA_PASSWORD/);
  assert.ok(!problems.join("\n").includes("do-not-print-me"));
});

Deno.test("loadSettings() flags KAFKA_CA_FILE with PLAINTEXT", () => {
  assertProblem(
    problemsOf({ KAFKA_CA_FILE: "/ca.pem" }, { "/ca.pem": PEM }),
    "KAFKA_CA_FILE",
    /PLAINTEXT/,
  );
});

Deno.test("loadSettings() validates topic names and keeps the DLQ distinct", () => {
  const problems = problemsOf({ ORDERS_TOPIC: "orders/eu", DLQ_TOPIC: "x".repeat(250) });
  assertProblem(problems, "ORDERS_TOPIC", /not a valid Kafka topic name/);
  assertProblem(problems, "DLQ_TOPIC", /not a valid Kafka topic name/);
  assertProblem(problems, "ORDERS_TOPIC", /"orders\/eu"/);
  assert.ok(!problems.some((p) => p.includes("must differ")));
  assertProblem(
    problemsOf({ ORDERS_TOPIC: "same", DLQ_TOPIC: "same" }),
    "DLQ_TOPIC",
    /must differ from ORDERS_TOPIC/,
  );
  assert.equal(loadSettings({ ORDERS_TOPIC: "a.b_c-9" }).topics.orders, "a.b_c-9");
  assertProblem(problemsOf({ DLQ_TOPIC: ".." }), "DLQ_TOPIC", /not a valid/);
});

Deno.test("loadSettings() rejects an unknown SINK and SINK_LAYOUT", () => {
  const problems = problemsOf({ SINK: "s3", SINK_LAYOUT: "hourly" });
  assertProblem(problems, "SINK", /"s3" is not a sink; use local .* or cos/);
  assertProblem(problems, "SINK_LAYOUT", /"hourly" is not a layout; use per-order or batched/);
  assert.equal(loadSettings({ SINK_LAYOUT: "batched" }).sink.layout, "batched");
});

Deno.test("loadSettings() lists every missing COS setting for SINK=cos", () => {
  const problems = problemsOf({ SINK: "cos" });
  assertProblem(problems, "COS_ENDPOINT", /needs the bucket's endpoint/);
  assertProblem(problems, "COS_BUCKET", /needs a bucket name/);
  assertProblem(problems, "COS_API_KEY", /needs credentials/);
});

Deno.test("loadSettings() builds IAM COS settings with the default auth endpoint", () => {
  const s = loadSettings({
    SINK: "cos",
    COS_ENDPOINT: "s3.us-south.cloud-object-storage.appdomain.cloud",
    COS_BUCKET: "orders-bucket",
    COS_API_KEY: "cos-key",
    COS_INSTANCE_ID: "crn:v1:bluemix:public:cloud-object-storage:global:a/1::",
    COS_REGION: "us-south",
    SINK_LAYOUT: "batched",
  });
  assert.deepEqual(s.sink, {
    kind: "cos",
    layout: "batched",
    cos: {
      endpoint: "https://s3.us-south.cloud-object-storage.appdomain.cloud",
      bucket: "orders-bucket",
      region: "us-south",
      auth: {
        kind: "iam",
        apiKey: "cos-key",
        serviceInstanceId: "crn:v1:bluemix:public:cloud-object-storage:global:a/1::",
        authEndpoint: "https://iam.cloud.ibm.com/identity/token",
      },
    },
  });
});

Deno.test("loadSettings() builds HMAC COS settings, preferred when both kinds are set", () => {
  const env = {
    SINK: "cos",
    COS_ENDPOINT: "http://127.0.0.1:9000/",
    COS_BUCKET: "orderflow",
    COS_HMAC_ACCESS_KEY_ID: "AKID",
    COS_HMAC_SECRET_ACCESS_KEY: "hmac-secret",
    COS_API_KEY: "cos-key",
    COS_INSTANCE_ID: "inst",
  };
  const s = loadSettings(env);
  assert.equal(s.sink.kind, "cos");
  if (s.sink.kind !== "cos") return;
  assert.equal(s.sink.cos.endpoint, "http://127.0.0.1:9000");
  assert.deepEqual(s.sink.cos.auth, {
    kind: "hmac",
    accessKeyId: "AKID",
    secretAccessKey: "hmac-secret",
  });
  const iam = loadSettings({ ...env, COS_AUTH: "iam" });
  assert.ok(iam.sink.kind === "cos" && iam.sink.cos.auth.kind === "iam");
});

Deno.test("loadSettings() rejects half an HMAC pair and half an IAM pair", () => {
  const base = { SINK: "cos", COS_ENDPOINT: "http://127.0.0.1:9000", COS_BUCKET: "orderflow" };
  assertProblem(
    problemsOf({ ...base, COS_HMAC_ACCESS_KEY_ID: "AKID" }),
    "COS_HMAC_SECRET_ACCESS_KEY",
    /only half of the HMAC key pair/,
  );
  assertProblem(
    problemsOf({ ...base, COS_API_KEY: "k" }),
    "COS_INSTANCE_ID",
    /resource_instance_id/,
  );
  assertProblem(problemsOf({ ...base, COS_INSTANCE_ID: "i" }), "COS_API_KEY", /apikey/);
  assertProblem(problemsOf({ ...base, COS_AUTH: "token" }), "COS_AUTH", /use iam or hmac/);
});

Deno.test("loadSettings() validates COS URLs and bucket names", () => {
  const problems = problemsOf({
    SINK: "cos",
    COS_ENDPOINT: "ftp://example.com",
    COS_BUCKET: "Bad_Bucket",
    COS_API_KEY: "k",
    COS_INSTANCE_ID: "i",
    COS_AUTH_ENDPOINT: "not a url",
  });
  assertProblem(problems, "COS_ENDPOINT", /must be an http:\/\/ or https:\/\/ URL/);
  assertProblem(problems, "COS_BUCKET", /not a valid bucket name/);
  assertProblem(problems, "COS_AUTH_ENDPOINT", /is not a URL/);
});

Deno.test("loadSettings() validates HTTP_PORT (0 means off) and LOG_LEVEL", () => {
  assert.equal(loadSettings({ HTTP_PORT: "0" }).http.port, 0);
  assert.equal(loadSettings({ HTTP_PORT: "65535" }).http.port, 65535);
  assertProblem(problemsOf({ HTTP_PORT: "65536" }), "HTTP_PORT", /integer 0-65535/);
  assertProblem(problemsOf({ HTTP_PORT: "80.5" }), "HTTP_PORT", /not a port/);
  assertProblem(problemsOf({ HTTP_PORT: "-1" }), "HTTP_PORT", /not a port/);
  assert.equal(loadSettings({ LOG_LEVEL: "DEBUG" }).logLevel, "debug");
  assert.equal(loadSettings({ LOG_LEVEL: "warning" }).logLevel, "warn");
  assertProblem(problemsOf({ LOG_LEVEL: "verbose" }), "LOG_LEVEL", /debug, info, warn, error/);
});

Deno.test("loadSettings() reports every problem at once, each in the message", () => {
  let error: unknown;
  try {
    loadSettings({
      KAFKA_BROKERS: "nope",
      KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
      ORDERS_TOPIC: "bad topic",
      SINK: "cos",
      HTTP_PORT: "x",
      LOG_LEVEL: "loud",
    });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof SettingsError);
  assert.equal(error.name, "SettingsError");
  const variables = error.problems.map((p) => p.slice(0, p.indexOf(":")));
  for (
    const v of [
      "KAFKA_BROKERS",
      "KAFKA_PASSWORD",
      "ORDERS_TOPIC",
      "COS_ENDPOINT",
      "COS_BUCKET",
      "HTTP_PORT",
      "LOG_LEVEL",
    ]
  ) {
    assert.ok(variables.includes(v), `missing ${v} in ${variables.join(", ")}`);
  }
  for (const p of error.problems) assert.ok(error.message.includes(p));
  assert.match(error.message, /^Cannot load settings: \d+ problems\n/);
  assert.ok(Object.isFrozen(error.problems));
});

Deno.test("secretsOf() lists the Kafka password and the COS secret", () => {
  const iam = loadSettings({
    KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    KAFKA_PASSWORD: "kpw",
    SINK: "cos",
    COS_ENDPOINT: "http://127.0.0.1:9000",
    COS_BUCKET: "orderflow",
    COS_API_KEY: "iam-key",
    COS_INSTANCE_ID: "inst",
  });
  assert.deepEqual(secretsOf(iam), ["kpw", "iam-key"]);
  const hmac = loadSettings({
    SINK: "cos",
    COS_ENDPOINT: "http://127.0.0.1:9000",
    COS_BUCKET: "orderflow",
    COS_HMAC_ACCESS_KEY_ID: "AKID",
    COS_HMAC_SECRET_ACCESS_KEY: "hmac-secret",
  });
  assert.deepEqual(secretsOf(hmac), ["hmac-secret"]);
  assert.deepEqual(secretsOf(loadSettings({})), []);
});

Deno.test("redact() replaces every occurrence, longest secret first", () => {
  const s = loadSettings({
    KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    KAFKA_PASSWORD: "abc",
    SINK: "cos",
    COS_ENDPOINT: "http://127.0.0.1:9000",
    COS_BUCKET: "orderflow",
    COS_HMAC_ACCESS_KEY_ID: "AKID",
    COS_HMAC_SECRET_ACCESS_KEY: "abcdef",
  });
  assert.equal(redact("x abcdef y abc z abc", s), "x *** y *** z ***");
  assert.equal(redact("no secrets", ["", "zzz"]), "no secrets");
});

Deno.test("redactSettings() hides passwords, keys and the CA body", () => {
  const s = load(
    {
      EVENT_STREAMS_CREDENTIALS: JSON.stringify(CREDENTIAL),
      KAFKA_CA_FILE: "/ca.pem",
      SINK: "cos",
      COS_ENDPOINT: "http://127.0.0.1:9000",
      COS_BUCKET: "orderflow",
      COS_API_KEY: "iam-key-secret",
      COS_INSTANCE_ID: "inst",
    },
    { "/ca.pem": PEM },
  );
  const shown = redactSettings(s);
  const json = JSON.stringify(shown);
  for (const secret of secretsOf(s)) assert.ok(!json.includes(secret), secret);
  assert.ok(!json.includes("MIIBfake"));
  assert.equal(shown.kafka.sasl?.password, "***");
  assert.equal(shown.kafka.ca, `<PEM, ${PEM.length} characters>`);
  assert.equal(shown.kafka.sasl?.username, "token");
  assert.ok(Object.isFrozen(shown.sink));
  // The original is untouched.
  assert.equal(s.kafka.sasl?.password, CREDENTIAL.password);
});

Deno.test("loadSettings() reads CONSUMER_SESSION_TIMEOUT_MS and rejects values the broker refuses", () => {
  assert.equal(
    loadSettings({ CONSUMER_SESSION_TIMEOUT_MS: "6000" }).consumer.sessionTimeoutMs,
    6000,
  );
  for (const bad of ["5999", "1800001", "30s", "-1"]) {
    assert.throws(
      () => loadSettings({ CONSUMER_SESSION_TIMEOUT_MS: bad }),
      (e: unknown) =>
        e instanceof SettingsError &&
        e.problems.some((p) => p.startsWith("CONSUMER_SESSION_TIMEOUT_MS:")),
      bad,
    );
  }
});

Deno.test("loadSettings() reads the consumer's fetch limits (bytes, KiB or MiB) and rejects others", () => {
  const fetch = (env: Record<string, string>) => {
    const { fetchMaxBytes, fetchMaxBytesPerPartition } = loadSettings(env).consumer;
    return { fetchMaxBytes, fetchMaxBytesPerPartition };
  };
  assert.deepEqual(
    fetch({ CONSUMER_FETCH_MAX_BYTES: "4MiB", CONSUMER_FETCH_PARTITION_BYTES: "65536" }),
    { fetchMaxBytes: 4 * 1024 * 1024, fetchMaxBytesPerPartition: 65536 },
  );
  assert.equal(fetch({ CONSUMER_FETCH_MAX_BYTES: "512 KiB" }).fetchMaxBytes, 512 * 1024);
  for (const bad of ["0", "1023", "1025MiB", "2GB", "-1", "1.5MiB"]) {
    assert.throws(
      () => loadSettings({ CONSUMER_FETCH_MAX_BYTES: bad }),
      (e: unknown) =>
        e instanceof SettingsError &&
        e.problems.some((p) => p.startsWith("CONSUMER_FETCH_MAX_BYTES:")),
      bad,
    );
  }
  assert.throws(
    () =>
      loadSettings({
        CONSUMER_FETCH_MAX_BYTES: "1MiB",
        CONSUMER_FETCH_PARTITION_BYTES: "2MiB",
      }),
    (e: unknown) =>
      e instanceof SettingsError &&
      e.problems.some((p) => p.startsWith("CONSUMER_FETCH_PARTITION_BYTES:")),
  );
});
