/**
 * Helpers for integration tests against the local infrastructure started by `dev/kafka.sh` and
 * `dev/s3.sh` (run `deno task up`, or `deno task test`, which starts both first).
 *
 * - {@linkcode saslEnv} / {@linkcode s3Env}: the settings those scripts write to
 *   `.run/kafka/sasl.env` and `.run/s3/s3.env`.
 * - {@linkcode uniqueName}: a topic name / key prefix no other test (or engineer) uses.
 * - {@linkcode createTopic} / {@linkcode deleteTopic}: kafkajs admin on PLAINTEXT `localhost:9092`.
 * - {@linkcode plaintextKafka} / {@linkcode saslKafka}: kafkajs clients for both listeners.
 *
 * @module
 */
import { Kafka, type KafkaConfig, logLevel } from "kafkajs";
import { Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** PLAINTEXT listener of the local broker. */
export const PLAINTEXT_BROKER = "localhost:9092";

const ROOT = new URL("../", import.meta.url);

/**
 * Reads a `KEY=VALUE` env file (blank lines and `#` comments skipped) into a frozen record.
 * `remedy` is the command that creates the file, shown when it is missing.
 */
function readEnvFile(relative: string, remedy: string): Readonly<Record<string, string>> {
  const url = relative.startsWith("/") ? new URL(`file://${relative}`) : new URL(relative, ROOT);
  let text: string;
  try {
    text = Deno.readTextFileSync(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot read ${relative}: file not found\nRun \`${remedy}\` first.`,
        { cause: error },
      );
    }
    throw error;
  }
  const env: Record<string, string> = {};
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      throw new SyntaxError(`Cannot parse ${relative}: line ${index + 1} is not KEY=VALUE`);
    }
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return Object.freeze(env);
}

/**
 * Settings of the SASL_SSL listener from `.run/kafka/sasl.env`: `KAFKA_BROKERS`,
 * `KAFKA_SECURITY_PROTOCOL`, `KAFKA_USERNAME`, `KAFKA_PASSWORD`, `KAFKA_CA_FILE`.
 *
 * @example
 * ```ts ignore
 * const env = saslEnv();
 * env.KAFKA_BROKERS; // "localhost:9093"
 * ```
 */
export function saslEnv(): Readonly<Record<string, string>> {
  return readEnvFile(".run/kafka/sasl.env", "bash dev/kafka.sh start");
}

/**
 * Settings of the local S3 server and IAM endpoint from `.run/s3/s3.env`: `COS_ENDPOINT` (S3Proxy,
 * HMAC), `COS_IAM_ENDPOINT` (the IAM front before it, for `COS_AUTH=iam`), `COS_BUCKET`,
 * `COS_HMAC_ACCESS_KEY_ID`, `COS_HMAC_SECRET_ACCESS_KEY`, `COS_API_KEY`, `COS_INSTANCE_ID`,
 * `COS_AUTH_ENDPOINT`. With `S3_RUN_DIR` set (as for `dev/s3.sh`), from `$S3_RUN_DIR/s3.env`:
 * tests then run against a second S3 server.
 *
 * @example
 * ```ts ignore
 * const env = s3Env();
 * env.COS_BUCKET; // "orderflow"
 * ```
 */
export function s3Env(): Readonly<Record<string, string>> {
  const dir = Deno.env.get("S3_RUN_DIR");
  if (dir !== undefined && dir !== "") {
    return readEnvFile(
      `${dir.replace(/\/$/, "")}/s3.env`,
      `S3_RUN_DIR=${dir} bash dev/s3.sh start`,
    );
  }
  return readEnvFile(".run/s3/s3.env", "bash dev/s3.sh start");
}

/**
 * `env[name]`, or a TypeError naming the file to regenerate when it is missing or empty.
 *
 * @example
 * ```ts
 * import { requireEnv } from "./_infra.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(requireEnv({ COS_BUCKET: "orderflow" }, "COS_BUCKET"), "orderflow");
 * assert.throws(() => requireEnv({}, "COS_BUCKET"), TypeError);
 * ```
 */
export function requireEnv(env: Readonly<Record<string, string>>, name: string): string {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new TypeError(
      `Cannot read setting ${name}: missing from the env file\n` +
        "Run `bash dev/kafka.sh start` / `bash dev/s3.sh start` again to rewrite it.",
    );
  }
  return value;
}

/**
 * A name no other test run uses: `<prefix>-<time base36>-<8 random hex>`, valid as a Kafka topic,
 * consumer group or object-key segment.
 *
 * @example
 * ```ts
 * import { uniqueName } from "./_infra.ts";
 * import assert from "node:assert/strict";
 *
 * const a = uniqueName("orders-test");
 * assert.match(a, /^orders-test-[0-9a-z]+-[0-9a-f]{8}$/);
 * assert.notEqual(a, uniqueName("orders-test"));
 * ```
 */
export function uniqueName(prefix: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/.test(prefix)) {
    throw new TypeError(
      `Cannot make a unique name: prefix ${JSON.stringify(prefix)} is not [A-Za-z0-9._-]{1,121}`,
    );
  }
  const random = crypto.getRandomValues(new Uint8Array(4));
  const hex = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${prefix}-${Date.now().toString(36)}-${hex}`;
}

/** A socket factory that disables Nagle's algorithm (kafkajs never calls `setNoDelay`). */
function noDelaySocketFactory(): NonNullable<KafkaConfig["socketFactory"]> {
  return ({ host, port, ssl, onConnect }) => {
    const socket = ssl
      ? tlsConnect({ ...ssl, host, port, servername: host }, onConnect)
      : new Socket().connect({ host, port }, onConnect);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
}

/** Options for {@linkcode plaintextKafka} and {@linkcode saslKafka}. */
export interface TestKafkaOptions {
  /** kafkajs client id (default `orderflow-test`). */
  readonly clientId?: string;
  /** kafkajs log level (default `logLevel.WARN`). */
  readonly logLevel?: logLevel;
  /** kafkajs retry options (default: kafkajs defaults). */
  readonly retry?: KafkaConfig["retry"];
}

/**
 * A kafkajs client for the local broker's PLAINTEXT listener (`localhost:9092`).
 *
 * @example
 * ```ts ignore
 * const admin = plaintextKafka().admin();
 * await admin.connect();
 * await admin.disconnect();
 * ```
 */
export function plaintextKafka(options: TestKafkaOptions = {}): Kafka {
  return new Kafka({
    clientId: options.clientId ?? "orderflow-test",
    brokers: [PLAINTEXT_BROKER],
    logLevel: options.logLevel ?? logLevel.WARN,
    socketFactory: noDelaySocketFactory(),
    ...(options.retry ? { retry: options.retry } : {}),
  });
}

/** Options for {@linkcode saslKafka}: which credentials and trust to use. */
export interface SaslKafkaOptions extends TestKafkaOptions {
  /** Password to present (default: the generated one from `.run/kafka/sasl.env`). */
  readonly password?: string;
  /** CA certificates to trust (default: the generated CA; `[]` means the system CAs only). */
  readonly ca?: readonly string[];
}

/**
 * A kafkajs client for the local broker's SASL_SSL listener (`localhost:9093`, PLAIN, user
 * `token`), trusting the generated CA — the same shape as IBM Event Streams.
 *
 * @example
 * ```ts ignore
 * const producer = saslKafka().producer();
 * await producer.connect();
 * await producer.disconnect();
 * ```
 */
export function saslKafka(options: SaslKafkaOptions = {}): Kafka {
  const env = saslEnv();
  const brokers = (env.KAFKA_BROKERS ?? "").split(",").filter((b) => b !== "");
  const caFile = env.KAFKA_CA_FILE;
  if (brokers.length === 0 || caFile === undefined || env.KAFKA_PASSWORD === undefined) {
    throw new TypeError(
      "Cannot build a SASL_SSL client: .run/kafka/sasl.env lacks KAFKA_BROKERS, " +
        "KAFKA_PASSWORD or KAFKA_CA_FILE\nRun `bash dev/kafka.sh start` again.",
    );
  }
  const ca = options.ca ?? [Deno.readTextFileSync(caFile)];
  return new Kafka({
    clientId: options.clientId ?? "orderflow-test",
    brokers,
    ssl: ca.length > 0 ? { ca: [...ca] } : true,
    sasl: {
      mechanism: "plain",
      username: env.KAFKA_USERNAME ?? "token",
      password: options.password ?? env.KAFKA_PASSWORD,
    },
    logLevel: options.logLevel ?? logLevel.WARN,
    socketFactory: noDelaySocketFactory(),
    ...(options.retry ? { retry: options.retry } : {}),
  });
}

/**
 * Creates topic `name` with `partitions` partitions (replication factor 1) on the local broker
 * and waits for its leaders. Throws when the topic already exists.
 *
 * @example
 * ```ts ignore
 * const topic = uniqueName("my-test");
 * await createTopic(topic, 3);
 * try {
 *   // ... produce / consume ...
 * } finally {
 *   await deleteTopic(topic);
 * }
 * ```
 */
export async function createTopic(name: string, partitions = 1): Promise<void> {
  const admin = plaintextKafka({ clientId: "orderflow-test-admin" }).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    if (!created) {
      throw new RangeError(`Cannot create topic "${name}": it already exists`);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Deletes topic `name` from the local broker (throws when it does not exist). */
export async function deleteTopic(name: string): Promise<void> {
  const admin = plaintextKafka({ clientId: "orderflow-test-admin" }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [name] });
  } finally {
    await admin.disconnect();
  }
}
