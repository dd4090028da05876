/**
 * Settings for orderflow: read from environment variables (and the IBM Event Streams service
 * credential JSON), validated all at once, frozen.
 *
 * Sources, in order of precedence: explicit variables (`KAFKA_BROKERS`, `KAFKA_PASSWORD`, ...),
 * then fields of `EVENT_STREAMS_CREDENTIALS` / `EVENT_STREAMS_CREDENTIALS_FILE`, then defaults.
 * A `.env` file is loaded by Deno's `--env-file` in the tasks (the real environment wins; the
 * tasks' `--quiet` keeps Deno from warning when it is absent); this module never parses `.env`
 * itself.
 *
 * This module is the one to import: it loads the topics, HTTP, plugins and log settings itself
 * and re-exports the rest, which live by concern beside it: `kafka.ts` (brokers, SASL, CA, the
 * Event Streams credential), `sink.ts` (local disk or COS, IAM or HMAC), `consumer.ts` (group
 * and fetch limits), `defaults.ts` and `secrets.ts` (listing and redacting secrets).
 *
 * @module
 */

import { DEFAULTS, LOG_LEVELS, type LogLevel } from "./defaults.ts";
import { type ConsumerSettings, loadConsumer } from "./consumer.ts";
import { type KafkaSettings, loadKafka } from "./kafka.ts";
import { loadSink, type SinkSettings } from "./sink.ts";
import { deepFreeze, type Get } from "./_common.ts";

export { DEFAULTS, type LogLevel, type SecurityProtocol, type SinkLayout } from "./defaults.ts";
export type { ConsumerSettings } from "./consumer.ts";
export type { KafkaSettings, SaslSettings } from "./kafka.ts";
export type { CosHmacAuth, CosIamAuth, CosSettings, SinkSettings } from "./sink.ts";
export { redact, redactSettings, secretsOf } from "./secrets.ts";

/** All orderflow settings (deeply frozen). */
export interface Settings {
  readonly kafka: KafkaSettings;
  readonly topics: { readonly orders: string; readonly dlq: string };
  readonly consumer: ConsumerSettings;
  readonly sink: SinkSettings;
  readonly http: { readonly host: string; readonly port: number };
  readonly pluginsDir: string;
  readonly logLevel: LogLevel;
}

/** Options for {@linkcode loadSettings}. */
export interface LoadSettingsOptions {
  /**
   * Reads a file named by `KAFKA_CA_FILE` or `EVENT_STREAMS_CREDENTIALS_FILE`. Called only when
   * one of them is set. Defaults to `Deno.readTextFileSync`; pass a stub to keep tests pure.
   */
  readonly readTextFile?: (path: string) => string;
}

/** Environment record as returned by `Deno.env.toObject()`. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Thrown by {@linkcode loadSettings} when the environment is invalid. `problems` lists every
 * problem found, each naming the variable and the remedy; `message` contains all of them.
 * Messages never contain secret values.
 *
 * @example
 * ```ts
 * import { loadSettings, SettingsError } from "./settings.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => loadSettings({ SINK: "s3", HTTP_PORT: "99999" }), (err) => {
 *   assert.ok(err instanceof SettingsError);
 *   assert.equal(err.problems.length, 2);
 *   return true;
 * });
 * ```
 */
export class SettingsError extends Error {
  override name = "SettingsError";
  /** Every problem found, one sentence each: variable, what is wrong, remedy. */
  readonly problems: readonly string[];

  /** Creates the error from a non-empty list of problems. */
  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(
      `Cannot load settings: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
      options,
    );
    this.problems = Object.freeze([...problems]);
  }
}

const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Loads and validates settings from an environment record. Empty values count as unset.
 * Throws {@linkcode SettingsError} listing every problem at once.
 *
 * @example
 * ```ts
 * import { loadSettings } from "./settings.ts";
 * import assert from "node:assert/strict";
 *
 * const defaults = loadSettings({});
 * assert.deepEqual(defaults.kafka.brokers, ["localhost:9092"]);
 * assert.equal(defaults.kafka.securityProtocol, "PLAINTEXT");
 * assert.deepEqual(defaults.sink, { kind: "local", dir: "./data/out", layout: "per-order" });
 *
 * const credential = JSON.stringify({
 *   kafka_brokers_sasl: ["b0.example.com:9093", "b1.example.com:9093"],
 *   user: "token",
 *   api_key: "s3cr3t-key",
 * });
 * const ibm = loadSettings({ EVENT_STREAMS_CREDENTIALS: credential });
 * assert.equal(ibm.kafka.securityProtocol, "SASL_SSL");
 * assert.deepEqual(ibm.kafka.sasl, { mechanism: "plain", username: "token", password: "s3cr3t-key" });
 * assert.ok(Object.isFrozen(ibm.kafka.brokers));
 * ```
 */
export function loadSettings(env: Env, options: LoadSettingsOptions = {}): Settings {
  const problems: string[] = [];
  const readTextFile = options.readTextFile ?? ((path: string) => Deno.readTextFileSync(path));
  const get: Get = (name) => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };

  const kafka = loadKafka(get, readTextFile, problems);

  const orders = get("ORDERS_TOPIC") ?? DEFAULTS.ORDERS_TOPIC;
  const dlq = get("DLQ_TOPIC") ?? DEFAULTS.DLQ_TOPIC;
  checkTopic("ORDERS_TOPIC", orders, problems);
  checkTopic("DLQ_TOPIC", dlq, problems);
  if (orders === dlq) {
    problems.push(
      `DLQ_TOPIC: must differ from ORDERS_TOPIC (both are "${orders}"); set DLQ_TOPIC to e.g. "${orders}.dlq"`,
    );
  }
  const consumer = loadConsumer(get, problems);

  const sink = loadSink(get, problems);

  const host = get("HTTP_HOST") ?? DEFAULTS.HTTP_HOST;
  const port = parsePort("HTTP_PORT", get("HTTP_PORT"), DEFAULTS.HTTP_PORT, 0, problems);

  const pluginsDir = get("PLUGINS_DIR") ?? DEFAULTS.PLUGINS_DIR;

  const rawLevel = get("LOG_LEVEL")?.toLowerCase() ?? DEFAULTS.LOG_LEVEL;
  const logLevel = (rawLevel === "warning" ? "warn" : rawLevel) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(
      `LOG_LEVEL: "${get("LOG_LEVEL")}" is not a log level; use one of ${LOG_LEVELS.join(", ")}`,
    );
  }

  if (problems.length > 0 || kafka === undefined || sink === undefined) {
    throw new SettingsError(problems);
  }
  return deepFreeze({
    kafka,
    topics: { orders, dlq },
    consumer,
    sink,
    http: { host, port },
    pluginsDir,
    logLevel,
  });
}

/**
 * Loads settings from the real process environment (`Deno.env.toObject()`), reading
 * `KAFKA_CA_FILE` / `EVENT_STREAMS_CREDENTIALS_FILE` from disk. Needs `--allow-env` (and
 * `--allow-read` for those files).
 */
export function loadSettingsFromEnvironment(): Settings {
  return loadSettings(Deno.env.toObject());
}

function parsePort(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  problems: string[],
): number {
  if (text === undefined) return fallback;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= min && port <= 65535)) {
    problems.push(`${name}: "${text}" is not a port; use an integer ${min}-65535 (0 = off)`);
    return fallback;
  }
  return port;
}

function checkTopic(name: string, topic: string, problems: string[]): void {
  if (!TOPIC_RE.test(topic) || topic === "." || topic === "..") {
    problems.push(
      `${name}: "${topic}" is not a valid Kafka topic name; use 1-249 characters from a-z A-Z 0-9 . _ -`,
    );
  }
}
