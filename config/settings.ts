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
 * @module
 */

/** Kafka security protocols orderflow supports. */
export type SecurityProtocol = "PLAINTEXT" | "SASL_SSL";
/** Object layouts for the sink. */
export type SinkLayout = "per-order" | "batched";
/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** SASL PLAIN credentials (Event Streams: username `token`, password = API key). */
export interface SaslSettings {
  readonly mechanism: "plain";
  readonly username: string;
  readonly password: string;
}

/** Everything needed to build a kafkajs client. */
export interface KafkaSettings {
  readonly brokers: readonly string[];
  readonly securityProtocol: SecurityProtocol;
  readonly sasl?: SaslSettings;
  /** CA certificates as PEM text; absent → the system CAs. */
  readonly ca?: string;
  readonly clientId: string;
}

/** IBM IAM authentication for Cloud Object Storage. */
export interface CosIamAuth {
  readonly kind: "iam";
  readonly apiKey: string;
  readonly serviceInstanceId: string;
  readonly authEndpoint: string;
}

/** HMAC (S3 access key) authentication for Cloud Object Storage. */
export interface CosHmacAuth {
  readonly kind: "hmac";
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Where and how to reach an IBM Cloud Object Storage (or S3-compatible) bucket. */
export interface CosSettings {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region?: string;
  readonly auth: CosIamAuth | CosHmacAuth;
}

/** The sink the consumer writes enriched orders to. */
export type SinkSettings =
  | { readonly kind: "local"; readonly dir: string; readonly layout: SinkLayout }
  | { readonly kind: "cos"; readonly cos: CosSettings; readonly layout: SinkLayout };

/**
 * The consumer group member. The fetch limits bound the bytes the consumer holds in flight: one
 * fetch response at a time, each record of it kept until its batch is handled. A record batch
 * larger than a limit still comes (the broker sends at least one batch), so no limit stalls a
 * partition.
 */
export interface ConsumerSettings {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  /** Most bytes one fetch response may carry, over all partitions (Kafka's `fetch.max.bytes`). */
  readonly fetchMaxBytes: number;
  /** Most bytes per partition in one fetch response (Kafka's `max.partition.fetch.bytes`). */
  readonly fetchMaxBytesPerPartition: number;
}

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

/** Default values, exported for docs and the `.env.example` test. */
export const DEFAULTS: Readonly<{
  KAFKA_BROKERS: string;
  KAFKA_SECURITY_PROTOCOL: SecurityProtocol;
  KAFKA_USERNAME: string;
  KAFKA_CLIENT_ID: string;
  ORDERS_TOPIC: string;
  DLQ_TOPIC: string;
  CONSUMER_GROUP: string;
  CONSUMER_SESSION_TIMEOUT_MS: number;
  CONSUMER_FETCH_MAX_BYTES: number;
  CONSUMER_FETCH_PARTITION_BYTES: number;
  SINK: "local" | "cos";
  SINK_DIR: string;
  SINK_LAYOUT: SinkLayout;
  COS_AUTH_ENDPOINT: string;
  HTTP_HOST: string;
  HTTP_PORT: number;
  PLUGINS_DIR: string;
  LOG_LEVEL: LogLevel;
}> = Object.freeze({
  KAFKA_BROKERS: "localhost:9092",
  KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
  KAFKA_USERNAME: "token",
  KAFKA_CLIENT_ID: "orderflow",
  ORDERS_TOPIC: "orders",
  DLQ_TOPIC: "orders.dlq",
  CONSUMER_GROUP: "orderflow-consumer",
  CONSUMER_SESSION_TIMEOUT_MS: 30_000,
  CONSUMER_FETCH_MAX_BYTES: 2 * 1024 * 1024,
  CONSUMER_FETCH_PARTITION_BYTES: 256 * 1024,
  SINK: "local",
  SINK_DIR: "./data/out",
  SINK_LAYOUT: "per-order",
  COS_AUTH_ENDPOINT: "https://iam.cloud.ibm.com/identity/token",
  HTTP_HOST: "127.0.0.1",
  HTTP_PORT: 8787,
  PLUGINS_DIR: "./plugins",
  LOG_LEVEL: "info",
});

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
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const LAYOUTS: readonly SinkLayout[] = ["per-order", "batched"];
const PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT", "SASL_SSL"];

/** Fields taken from an Event Streams service credential. */
interface EventStreamsCredential {
  brokers?: string[];
  user?: string;
  password?: string;
}

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
  const get = (name: string): string | undefined => {
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
  const groupId = get("CONSUMER_GROUP") ?? DEFAULTS.CONSUMER_GROUP;
  const sessionTimeoutMs = parseSessionTimeout(get("CONSUMER_SESSION_TIMEOUT_MS"), problems);
  const fetchMaxBytes = parseBytes(
    "CONSUMER_FETCH_MAX_BYTES",
    get("CONSUMER_FETCH_MAX_BYTES"),
    DEFAULTS.CONSUMER_FETCH_MAX_BYTES,
    problems,
  );
  const fetchMaxBytesPerPartition = parseBytes(
    "CONSUMER_FETCH_PARTITION_BYTES",
    get("CONSUMER_FETCH_PARTITION_BYTES"),
    DEFAULTS.CONSUMER_FETCH_PARTITION_BYTES,
    problems,
  );
  if (fetchMaxBytesPerPartition > fetchMaxBytes) {
    problems.push(
      `CONSUMER_FETCH_PARTITION_BYTES: ${fetchMaxBytesPerPartition} is more than CONSUMER_FETCH_MAX_BYTES (${fetchMaxBytes}), which bounds the whole response; lower it or raise CONSUMER_FETCH_MAX_BYTES`,
    );
  }

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
    consumer: { groupId, sessionTimeoutMs, fetchMaxBytes, fetchMaxBytesPerPartition },
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

function loadKafka(
  get: (name: string) => string | undefined,
  readTextFile: (path: string) => string,
  problems: string[],
): KafkaSettings | undefined {
  const credential = loadCredential(get, readTextFile, problems);

  const brokersText = get("KAFKA_BROKERS");
  const brokers = brokersText !== undefined
    ? brokersText.split(",").map((b) => b.trim()).filter((b) => b !== "")
    : credential?.brokers ?? [DEFAULTS.KAFKA_BROKERS];
  const brokersSource = brokersText !== undefined
    ? "KAFKA_BROKERS"
    : credential?.brokers
    ? "EVENT_STREAMS_CREDENTIALS kafka_brokers_sasl"
    : "KAFKA_BROKERS";
  if (brokers.length === 0) {
    problems.push(
      `${brokersSource}: no brokers listed; set a comma-separated list of host:port, e.g. localhost:9092`,
    );
  }
  for (const broker of brokers) {
    const problem = brokerProblem(broker);
    if (problem !== undefined) {
      problems.push(
        `${brokersSource}: "${broker}" ${problem}; use host:port, e.g. localhost:9092`,
      );
    }
  }

  const rawProtocol = get("KAFKA_SECURITY_PROTOCOL")?.toUpperCase();
  const securityProtocol = (rawProtocol ??
    (credential !== undefined ? "SASL_SSL" : DEFAULTS.KAFKA_SECURITY_PROTOCOL)) as SecurityProtocol;
  const protocolOk = PROTOCOLS.includes(securityProtocol);
  if (!protocolOk) {
    problems.push(
      `KAFKA_SECURITY_PROTOCOL: "${
        get("KAFKA_SECURITY_PROTOCOL")
      }" is not supported; use PLAINTEXT (local broker) or SASL_SSL (IBM Event Streams)`,
    );
  }

  const passwordVar = get("KAFKA_PASSWORD") !== undefined ? "KAFKA_PASSWORD" : "KAFKA_API_KEY";
  const password = get("KAFKA_PASSWORD") ?? get("KAFKA_API_KEY") ?? credential?.password;
  const passwordSource = get(passwordVar) !== undefined
    ? passwordVar
    : "EVENT_STREAMS_CREDENTIALS password/api_key";
  const username = get("KAFKA_USERNAME") ?? credential?.user ?? DEFAULTS.KAFKA_USERNAME;

  const caFile = get("KAFKA_CA_FILE");
  let ca: string | undefined;
  if (caFile !== undefined) {
    const text = readFile("KAFKA_CA_FILE", caFile, readTextFile, problems);
    if (text !== undefined) {
      if (!text.includes("-----BEGIN CERTIFICATE-----")) {
        problems.push(
          `KAFKA_CA_FILE: ${caFile} holds no PEM certificate ("-----BEGIN CERTIFICATE-----"); point it at the CA certificate in PEM format`,
        );
      } else {
        ca = text;
      }
    }
  }

  if (securityProtocol === "SASL_SSL" && password === undefined) {
    problems.push(
      "KAFKA_PASSWORD: SASL_SSL needs a password; set KAFKA_PASSWORD (or KAFKA_API_KEY) to the Event Streams API key, or set EVENT_STREAMS_CREDENTIALS to the service credential JSON",
    );
  }
  if (securityProtocol === "PLAINTEXT" && password !== undefined) {
    problems.push(
      `KAFKA_SECURITY_PROTOCOL: is PLAINTEXT but a password is set (${passwordSource}) — likely a misconfiguration, the password would be sent nowhere; set KAFKA_SECURITY_PROTOCOL=SASL_SSL, or unset the password for a local PLAINTEXT broker`,
    );
  }
  if (securityProtocol === "PLAINTEXT" && caFile !== undefined) {
    problems.push(
      "KAFKA_CA_FILE: is set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT (no TLS) — likely a misconfiguration; set KAFKA_SECURITY_PROTOCOL=SASL_SSL, or unset KAFKA_CA_FILE",
    );
  }

  const clientId = get("KAFKA_CLIENT_ID") ?? DEFAULTS.KAFKA_CLIENT_ID;
  if (!protocolOk) return undefined;
  const settings: {
    brokers: string[];
    securityProtocol: SecurityProtocol;
    sasl?: SaslSettings;
    ca?: string;
    clientId: string;
  } = { brokers, securityProtocol, clientId };
  if (securityProtocol === "SASL_SSL" && password !== undefined) {
    settings.sasl = { mechanism: "plain", username, password };
  }
  if (securityProtocol === "SASL_SSL" && ca !== undefined) settings.ca = ca;
  return settings;
}

function loadCredential(
  get: (name: string) => string | undefined,
  readTextFile: (path: string) => string,
  problems: string[],
): EventStreamsCredential | undefined {
  const inline = get("EVENT_STREAMS_CREDENTIALS");
  const file = get("EVENT_STREAMS_CREDENTIALS_FILE");
  if (inline !== undefined && file !== undefined) {
    problems.push(
      "EVENT_STREAMS_CREDENTIALS: both it and EVENT_STREAMS_CREDENTIALS_FILE are set; keep only one",
    );
    return undefined;
  }
  const name = inline !== undefined
    ? "EVENT_STREAMS_CREDENTIALS"
    : "EVENT_STREAMS_CREDENTIALS_FILE";
  const text = inline ??
    (file !== undefined ? readFile(name, file, readTextFile, problems) : undefined);
  if (text === undefined) return undefined;

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the input, which holds the API key: report without it.
    problems.push(
      `${name}: is not valid JSON; paste the Event Streams service credential JSON exactly as IBM Cloud shows it`,
    );
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    problems.push(
      `${name}: must be a JSON object (the Event Streams service credential); got ${
        Array.isArray(parsed) ? "an array" : typeof parsed
      }`,
    );
    return undefined;
  }
  const record = parsed as Record<string, unknown>;
  const credential: EventStreamsCredential = {};
  const brokers = record["kafka_brokers_sasl"];
  if (Array.isArray(brokers) && brokers.every((b) => typeof b === "string")) {
    credential.brokers = brokers.map((b) => b.trim()).filter((b) => b !== "");
  } else if (typeof brokers === "string") {
    credential.brokers = brokers.split(",").map((b) => b.trim()).filter((b) => b !== "");
  } else if (brokers !== undefined) {
    problems.push(`${name}: kafka_brokers_sasl must be an array of "host:port" strings`);
  }
  for (const field of ["user", "password", "api_key"] as const) {
    const value = record[field];
    if (value !== undefined && typeof value !== "string") {
      problems.push(`${name}: field "${field}" must be a string`);
    }
  }
  if (typeof record["user"] === "string" && record["user"] !== "") {
    credential.user = record["user"];
  }
  const password = [record["password"], record["api_key"]].find(
    (v): v is string => typeof v === "string" && v !== "",
  );
  if (password !== undefined) credential.password = password;
  return credential;
}

function loadSink(
  get: (name: string) => string | undefined,
  problems: string[],
): SinkSettings | undefined {
  const layout = (get("SINK_LAYOUT")?.toLowerCase() ?? DEFAULTS.SINK_LAYOUT) as SinkLayout;
  const layoutOk = LAYOUTS.includes(layout);
  if (!layoutOk) {
    problems.push(
      `SINK_LAYOUT: "${get("SINK_LAYOUT")}" is not a layout; use ${LAYOUTS.join(" or ")}`,
    );
  }
  const kind = get("SINK")?.toLowerCase() ?? DEFAULTS.SINK;
  if (kind === "local") {
    const dir = get("SINK_DIR") ?? DEFAULTS.SINK_DIR;
    return layoutOk ? { kind: "local", dir, layout } : undefined;
  }
  if (kind !== "cos") {
    problems.push(
      `SINK: "${
        get("SINK")
      }" is not a sink; use local (SINK_DIR on disk) or cos (IBM Cloud Object Storage)`,
    );
    return undefined;
  }
  const cos = loadCos(get, problems);
  return cos !== undefined && layoutOk ? { kind: "cos", cos, layout } : undefined;
}

function loadCos(
  get: (name: string) => string | undefined,
  problems: string[],
): CosSettings | undefined {
  const before = problems.length;
  const rawEndpoint = get("COS_ENDPOINT");
  let endpoint: string | undefined;
  if (rawEndpoint === undefined) {
    problems.push(
      "COS_ENDPOINT: SINK=cos needs the bucket's endpoint; set COS_ENDPOINT, e.g. https://s3.us-south.cloud-object-storage.appdomain.cloud",
    );
  } else {
    // IBM's credential pages list endpoints without a scheme: default to https.
    endpoint = parseHttpUrl(
      "COS_ENDPOINT",
      /^[a-z][a-z0-9+.-]*:\/\//i.test(rawEndpoint) ? rawEndpoint : `https://${rawEndpoint}`,
      problems,
    );
  }
  const bucket = get("COS_BUCKET");
  if (bucket === undefined) {
    problems.push("COS_BUCKET: SINK=cos needs a bucket name; set COS_BUCKET");
  } else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    problems.push(
      `COS_BUCKET: "${bucket}" is not a valid bucket name; use 3-63 lowercase letters, digits, dots and hyphens`,
    );
  }

  const apiKey = get("COS_API_KEY");
  const instanceId = get("COS_INSTANCE_ID");
  const accessKeyId = get("COS_HMAC_ACCESS_KEY_ID");
  const secretAccessKey = get("COS_HMAC_SECRET_ACCESS_KEY");
  const authEndpoint = parseHttpUrl(
    "COS_AUTH_ENDPOINT",
    get("COS_AUTH_ENDPOINT") ?? DEFAULTS.COS_AUTH_ENDPOINT,
    problems,
  );
  const hasHmac = accessKeyId !== undefined && secretAccessKey !== undefined;
  const hasIam = apiKey !== undefined && instanceId !== undefined;
  const choice = get("COS_AUTH")?.toLowerCase();

  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined
      ? "COS_HMAC_ACCESS_KEY_ID"
      : "COS_HMAC_SECRET_ACCESS_KEY";
    problems.push(
      `${missing}: only half of the HMAC key pair is set; set both COS_HMAC_ACCESS_KEY_ID and COS_HMAC_SECRET_ACCESS_KEY (from a service credential created with "Include HMAC Credential"), or neither`,
    );
  }
  if (choice !== undefined && choice !== "iam" && choice !== "hmac") {
    problems.push(`COS_AUTH: "${get("COS_AUTH")}" is not an auth kind; use iam or hmac`);
  }

  let auth: CosIamAuth | CosHmacAuth | undefined;
  const wantIam = choice === "iam" || (choice !== "hmac" && !hasHmac &&
    (apiKey !== undefined || instanceId !== undefined));
  if (choice === "hmac" || (choice !== "iam" && hasHmac)) {
    if (hasHmac) auth = { kind: "hmac", accessKeyId, secretAccessKey };
    else if (choice === "hmac" && accessKeyId === undefined && secretAccessKey === undefined) {
      problems.push(
        "COS_HMAC_ACCESS_KEY_ID: COS_AUTH=hmac needs COS_HMAC_ACCESS_KEY_ID and COS_HMAC_SECRET_ACCESS_KEY",
      );
    }
  } else if (wantIam) {
    if (apiKey === undefined) {
      problems.push(
        "COS_API_KEY: IAM authentication needs the COS service credential's apikey; set COS_API_KEY",
      );
    }
    if (instanceId === undefined) {
      problems.push(
        "COS_INSTANCE_ID: IAM authentication needs the COS service credential's resource_instance_id; set COS_INSTANCE_ID",
      );
    }
    if (hasIam && authEndpoint !== undefined) {
      auth = { kind: "iam", apiKey, serviceInstanceId: instanceId, authEndpoint };
    }
  } else if (accessKeyId === undefined && secretAccessKey === undefined) {
    problems.push(
      "COS_API_KEY: SINK=cos needs credentials; set COS_API_KEY + COS_INSTANCE_ID (IAM) or COS_HMAC_ACCESS_KEY_ID + COS_HMAC_SECRET_ACCESS_KEY (HMAC)",
    );
  }

  if (problems.length > before || endpoint === undefined || bucket === undefined || !auth) {
    return undefined;
  }
  const region = get("COS_REGION");
  return region !== undefined ? { endpoint, bucket, region, auth } : { endpoint, bucket, auth };
}

function parseHttpUrl(name: string, text: string, problems: string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(`${name}: "${text}" is not a URL; use e.g. https://host[:port][/path]`);
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    problems.push(`${name}: "${text}" must be an http:// or https:// URL`);
    return undefined;
  }
  if (url.username !== "" || url.password !== "") {
    problems.push(`${name}: must not contain credentials; use the COS_* key variables instead`);
    return undefined;
  }
  return text.replace(/\/+$/, "");
}

function readFile(
  name: string,
  path: string,
  readTextFile: (path: string) => string,
  problems: string[],
): string | undefined {
  try {
    return readTextFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "no such file"
      : err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied
      ? "permission denied (run with --allow-read)"
      : err instanceof Error
      ? err.message
      : String(err);
    problems.push(`${name}: cannot read ${path}: ${reason}; check the path`);
    return undefined;
  }
}

function brokerProblem(broker: string): string | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:\s]+):([^:]*)$/.exec(broker);
  if (match === null) return "is not host:port";
  const host = match[1] ?? "";
  const portText = match[2] ?? "";
  if (!host.startsWith("[") && !HOST_RE.test(host)) return `has an invalid host "${host}"`;
  if (!/^\d{1,5}$/.test(portText)) return `has an invalid port "${portText}"`;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `has port ${port} outside 1-65535`;
  return undefined;
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

/**
 * The consumer's group session timeout. Kafka brokers accept 6000-1800000 ms by default
 * (group.min/max.session.timeout.ms); shorter means faster takeover after a crash, longer
 * tolerates longer pauses.
 */
function parseSessionTimeout(text: string | undefined, problems: string[]): number {
  if (text === undefined) return DEFAULTS.CONSUMER_SESSION_TIMEOUT_MS;
  const ms = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(ms >= 6000 && ms <= 1_800_000)) {
    problems.push(
      `CONSUMER_SESSION_TIMEOUT_MS: "${text}" is not a session timeout; use milliseconds 6000-1800000 (the broker's group.min/max.session.timeout.ms)`,
    );
    return DEFAULTS.CONSUMER_SESSION_TIMEOUT_MS;
  }
  return ms;
}

/** Fetch limits: at least 1 KiB (a record batch header and a record), at most 1 GiB. */
function parseBytes(
  name: string,
  text: string | undefined,
  fallback: number,
  problems: string[],
): number {
  if (text === undefined) return fallback;
  const m = /^(\d{1,10})\s*(KiB|MiB)?$/i.exec(text);
  const bytes = m === null
    ? NaN
    : Number(m[1]) * ({ kib: 1024, mib: 1024 * 1024 }[m[2]?.toLowerCase() ?? ""] ?? 1);
  if (!(bytes >= 1024 && bytes <= 1024 ** 3)) {
    problems.push(
      `${name}: "${text}" is not a byte size; use bytes (or a number with KiB / MiB) from 1 KiB to 1024 MiB, e.g. 1MiB`,
    );
    return fallback;
  }
  return bytes;
}

function checkTopic(name: string, topic: string, problems: string[]): void {
  if (!TOPIC_RE.test(topic) || topic === "." || topic === "..") {
    problems.push(
      `${name}: "${topic}" is not a valid Kafka topic name; use 1-249 characters from a-z A-Z 0-9 . _ -`,
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Lists the secret values in `settings` (Kafka password, COS API key, HMAC secret) — for
 * redaction and for tests that grep output for leaks.
 *
 * @example
 * ```ts
 * import { loadSettings, secretsOf } from "./settings.ts";
 * import assert from "node:assert/strict";
 *
 * const s = loadSettings({ KAFKA_SECURITY_PROTOCOL: "SASL_SSL", KAFKA_PASSWORD: "pw-123" });
 * assert.deepEqual(secretsOf(s), ["pw-123"]);
 * ```
 */
export function secretsOf(settings: Settings): readonly string[] {
  const secrets: string[] = [];
  if (settings.kafka.sasl !== undefined) secrets.push(settings.kafka.sasl.password);
  if (settings.sink.kind === "cos") {
    const auth = settings.sink.cos.auth;
    if (auth.kind === "iam") secrets.push(auth.apiKey);
    else secrets.push(auth.secretAccessKey);
  }
  return Object.freeze(secrets.filter((s) => s !== ""));
}

/**
 * Replaces every secret of `settings` in `text` with `***`. Also accepts a plain list of
 * secrets (what {@linkcode secretsOf} returns).
 *
 * @example
 * ```ts
 * import { loadSettings, redact } from "./settings.ts";
 * import assert from "node:assert/strict";
 *
 * const s = loadSettings({ KAFKA_SECURITY_PROTOCOL: "SASL_SSL", KAFKA_PASSWORD: "pw-123" });
 * assert.equal(redact("auth failed for pw-123", s), "auth failed for ***");
 * ```
 */
export function redact(text: string, settings: Settings | readonly string[]): string {
  const secrets = isSecretList(settings) ? settings : secretsOf(settings);
  // Longest first, so a secret that contains another is replaced whole.
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret !== "") out = out.split(secret).join("***");
  }
  return out;
}

function isSecretList(value: Settings | readonly string[]): value is readonly string[] {
  return Array.isArray(value);
}

/**
 * Returns a printable copy of `settings` with secrets replaced by `***` and the CA PEM replaced
 * by a short description. Safe to log or serve.
 *
 * @example
 * ```ts
 * import { loadSettings, redactSettings } from "./settings.ts";
 * import assert from "node:assert/strict";
 *
 * const s = loadSettings({ KAFKA_SECURITY_PROTOCOL: "SASL_SSL", KAFKA_PASSWORD: "pw-123" });
 * assert.equal(redactSettings(s).kafka.sasl?.password, "***");
 * assert.ok(!JSON.stringify(redactSettings(s)).includes("pw-123"));
 * ```
 */
export function redactSettings(settings: Settings): Settings {
  const kafka: KafkaSettings = {
    ...settings.kafka,
    ...(settings.kafka.sasl ? { sasl: { ...settings.kafka.sasl, password: "***" } } : {}),
    ...(settings.kafka.ca !== undefined
      ? { ca: `<PEM, ${settings.kafka.ca.length} characters>` }
      : {}),
  };
  let sink: SinkSettings = settings.sink;
  if (sink.kind === "cos") {
    const auth = sink.cos.auth;
    sink = {
      ...sink,
      cos: {
        ...sink.cos,
        auth: auth.kind === "iam"
          ? { ...auth, apiKey: "***" }
          : { ...auth, secretAccessKey: "***" },
      },
    };
  }
  return deepFreeze({ ...settings, kafka, sink });
}
