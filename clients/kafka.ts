/**
 * Builds kafkajs clients from {@linkcode KafkaSettings}: TLS + SASL PLAIN for IBM Event Streams,
 * a socket factory that disables Nagle's algorithm, the snappy codec, sane timeouts and a log
 * creator that redacts secrets. Also turns kafkajs errors into a message and a remedy for CLIs.
 *
 * @module
 */
import net from "node:net";
import process from "node:process";
import tls from "node:tls";
import {
  CompressionCodecs,
  CompressionTypes,
  type ISocketFactory,
  type ISocketFactoryArgs,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel as KafkaLogLevel,
  type RetryOptions,
} from "kafkajs";
import SnappyCodec from "kafkajs-snappy";
import type { KafkaSettings, LogLevel } from "../config/settings.ts";
import { DENO_DENIED, errorChain, redactText } from "./_errors.ts";

/** Log levels accepted by {@linkcode createKafka}; `none` silences kafkajs entirely. */
export type KafkaLogLevelName = LogLevel | "none";

/** Options for {@linkcode createKafka}. */
export interface CreateKafkaOptions {
  /** Overrides `kafka.clientId` (e.g. `orderflow-producer`). */
  readonly clientId?: string;
  /** Minimum level of kafkajs log lines to pass on. Default `warn`. */
  readonly logLevel?: KafkaLogLevelName;
  /** Receives each formatted, redacted log line. Default: `console.error`. */
  readonly log?: (line: string) => void;
  /** TCP/TLS connect timeout in ms. Default 10000 (TLS to a remote cloud broker). */
  readonly connectionTimeout?: number;
  /** SASL handshake timeout in ms. Default 10000. */
  readonly authenticationTimeout?: number;
  /** Per-request timeout in ms. Default 30000. */
  readonly requestTimeout?: number;
  /** kafkajs retry policy. Default `{ initialRetryTime: 300, retries: 5, maxRetryTime: 30000 }`. */
  readonly retry?: RetryOptions;
}

/** Keep-alive delay kafkajs' own socket factory uses. */
const KEEP_ALIVE_DELAY_MS = 60_000;

/**
 * A kafkajs socket factory like kafkajs' default (TLS with SNI, keep-alive) that also calls
 * `setNoDelay(true)`: kafkajs never does, and Nagle's algorithm then stalls small requests by
 * ~40 ms.
 */
export function noDelaySocketFactory(
  { host, port, ssl, onConnect }: ISocketFactoryArgs,
): ReturnType<ISocketFactory> {
  const socket = ssl
    ? tls.connect(
      {
        host,
        port,
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
        ...(typeof ssl === "object" ? ssl : {}),
      },
      onConnect,
    )
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
  socket.setNoDelay(true);
  return socket;
}

/**
 * Creates a kafkajs `Kafka` client for `kafka` settings. Registers the snappy codec (once; the
 * kafkajs codec table is global) and silences Deno's harmless `TimeoutNegativeWarning` (see
 * {@linkcode silenceTimeoutNegativeWarning}). Creating the client opens no connection.
 *
 * @example
 * ```ts
 * import { createKafka } from "./kafka.ts";
 * import { loadSettings } from "../config/settings.ts";
 * import assert from "node:assert/strict";
 *
 * const settings = loadSettings({});
 * const kafka = createKafka(settings.kafka, { clientId: "orderflow-doc", logLevel: "none" });
 * assert.equal(typeof kafka.producer, "function");
 * ```
 */
export function createKafka(kafka: KafkaSettings, options: CreateKafkaOptions = {}): Kafka {
  registerSnappyCodec();
  silenceTimeoutNegativeWarning();
  const secrets = kafka.sasl !== undefined ? [kafka.sasl.password] : [];
  const log = options.log ?? ((line: string) => console.error(line));
  const config: KafkaConfig = {
    clientId: options.clientId ?? kafka.clientId,
    brokers: [...kafka.brokers],
    connectionTimeout: options.connectionTimeout ?? 10_000,
    authenticationTimeout: options.authenticationTimeout ?? 10_000,
    requestTimeout: options.requestTimeout ?? 30_000,
    retry: options.retry ?? { initialRetryTime: 300, retries: 5, maxRetryTime: 30_000 },
    socketFactory: noDelaySocketFactory,
    logLevel: toKafkaLogLevel(options.logLevel ?? "warn"),
    logCreator: () => (entry: LogEntry) => log(formatLogEntry(entry, secrets)),
  };
  if (kafka.securityProtocol === "SASL_SSL") {
    config.ssl = kafka.ca !== undefined ? { ca: [kafka.ca] } : true;
    if (kafka.sasl !== undefined) {
      config.sasl = {
        mechanism: "plain",
        username: kafka.sasl.username,
        password: kafka.sasl.password,
      };
    }
  }
  return new Kafka(config);
}

/** Registers the snappy codec in kafkajs' (global) codec table; idempotent. */
export function registerSnappyCodec(): void {
  if (CompressionCodecs[CompressionTypes.Snappy] !== SnappyCodec) {
    CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
  }
}

const FILTER_MARK = Symbol.for("orderflow.timeoutNegativeWarningFilter");

/**
 * Stops Deno's Node compatibility layer from printing `TimeoutNegativeWarning` (kafkajs'
 * request queue calls `setTimeout` with a negative delay, which Node clamps to 1 ms — harmless).
 * Replaces the default `process` "warning" listener with one that drops only that warning and
 * passes every other warning to the original listener. Idempotent.
 */
export function silenceTimeoutNegativeWarning(): void {
  const listeners = process.listeners("warning");
  if (listeners.some((l) => FILTER_MARK in l)) return;
  for (const original of listeners) {
    process.removeListener("warning", original);
    const filter = Object.assign(
      (warning: Error) => {
        if (warning.name !== "TimeoutNegativeWarning") original(warning);
      },
      { [FILTER_MARK]: true },
    );
    process.on("warning", filter);
  }
}

function toKafkaLogLevel(level: KafkaLogLevelName): KafkaLogLevel {
  switch (level) {
    case "none":
      return KafkaLogLevel.NOTHING;
    case "error":
      return KafkaLogLevel.ERROR;
    case "warn":
      return KafkaLogLevel.WARN;
    case "info":
      return KafkaLogLevel.INFO;
    case "debug":
      return KafkaLogLevel.DEBUG;
  }
}

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  [KafkaLogLevel.ERROR]: "ERROR",
  [KafkaLogLevel.WARN]: "WARN",
  [KafkaLogLevel.INFO]: "INFO",
  [KafkaLogLevel.DEBUG]: "DEBUG",
};

/**
 * Formats one kafkajs log entry as a single line, secrets replaced by `***`:
 * `2026-11-26T20:00:00.000Z WARN [kafkajs Connection] message {"broker":"..."}`.
 */
export function formatLogEntry(entry: LogEntry, secrets: readonly string[]): string {
  const { timestamp, message, ...extra } = entry.log;
  const level = LEVEL_NAMES[entry.level] ?? String(entry.level);
  const rest = Object.keys(extra).length > 0 ? ` ${safeJson(extra)}` : "";
  const where = entry.namespace ? `kafkajs ${entry.namespace}` : "kafkajs";
  const line = `${timestamp} ${level} [${where}] ${message}${rest}`;
  return redactText(line, secrets);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return "[unserializable]";
  }
}

/** What went wrong talking to Kafka, for a CLI: a one-line message and what to do about it. */
export interface KafkaErrorDescription {
  /** Short machine-readable class of the failure. */
  readonly kind:
    | "authentication"
    | "authorization"
    | "refused"
    | "dns"
    | "tls"
    | "protocol-mismatch"
    | "timeout"
    | "topic-not-found"
    | "permission"
    | "unknown";
  /** One line: what failed and the underlying detail (secrets redacted). */
  readonly message: string;
  /** What the user should do next. */
  readonly remedy: string;
}

/**
 * Explains a kafkajs (or network/TLS) error: classifies it and names a remedy. Walks the
 * `cause` chain (kafkajs wraps the real error in `KafkaJSNumberOfRetriesExceeded`). Pass the
 * `kafka` settings in use to redact the password and to recognise a PLAINTEXT client talking
 * to a TLS listener (the broker just closes the connection).
 *
 * @example
 * ```ts
 * import { describeKafkaError } from "./kafka.ts";
 * import assert from "node:assert/strict";
 *
 * const err = Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9092"), {
 *   name: "KafkaJSConnectionError",
 *   code: "ECONNREFUSED",
 * });
 * assert.equal(describeKafkaError(err).kind, "refused");
 * ```
 */
export function describeKafkaError(err: unknown, kafka?: KafkaSettings): KafkaErrorDescription {
  const secrets = kafka?.sasl !== undefined ? [kafka.sasl.password] : [];
  const chain = errorChain(err, { errorsOnly: true, first: "cause", aggregate: true });
  const names = chain.map((e) => e.name);
  const text = chain.map((e) => `${e.message} ${e.code ?? ""} ${e.type ?? ""}`).join(" | ");
  const detail = redactText(
    chain.length > 0
      ? [...new Set(chain.map((e) => e.message).filter((m) => m !== ""))].join(": ")
      : String(err),
    secrets,
  );
  const has = (re: RegExp) => re.test(text);
  const silent = names.includes("KafkaJSConnectionClosedError") ||
    names.includes("KafkaJSRequestTimeoutError") ||
    has(/Connection timeout|Request timed out|Closed connection|ECONNRESET|timed out|ETIMEDOUT/i);
  // The first case that applies explains the failure.
  const found = names.includes("NotCapable") || names.includes("PermissionDenied")
    ? "permission"
    : names.includes("KafkaJSSASLAuthenticationError")
    ? "authentication"
    : KAFKA_PATTERNS.find(([, re]) => has(re))?.[0] ??
      (silent && kafka?.securityProtocol === "PLAINTEXT"
        ? "plaintextOnTls"
        : silent
        ? "timeout"
        : undefined);
  if (found === undefined) {
    return Object.freeze({
      kind: "unknown",
      message: `Kafka request failed (${chain.at(-1)?.name ?? "error"}): ${detail}`,
      remedy:
        "run with LOG_LEVEL=debug for kafkajs' own log, and check the broker address and credentials",
    });
  }
  const [kind, what, remedy] = KAFKA_CASES[found];
  return Object.freeze({ kind, message: `${what}: ${detail}`, remedy });
}

/** The cases {@linkcode describeKafkaError} tells apart: the kind, what failed, the remedy. */
const KAFKA_CASES = {
  permission: ["permission", DENO_DENIED.what, DENO_DENIED.remedy],
  authentication: [
    "authentication",
    "Kafka authentication failed",
    'check KAFKA_PASSWORD / KAFKA_API_KEY (the Event Streams service credential\'s api_key) and KAFKA_USERNAME ("token"); create a new service credential if the key was rotated or deleted',
  ],
  authorization: [
    "authorization",
    "Kafka refused the operation (not authorized)",
    "give the service credential a role that allows it (Writer for produce/consume, Manager to create topics), or check the topic/group names",
  ],
  topicNotFound: [
    "topic-not-found",
    "Kafka topic does not exist",
    "create the topic (Event Streams console → Topics, or `bash dev/kafka.sh start` locally), or fix ORDERS_TOPIC / DLQ_TOPIC",
  ],
  tls: [
    "tls",
    "TLS certificate not trusted",
    "set KAFKA_CA_FILE to the PEM of the CA that signed the broker's certificate (local broker: the KAFKA_CA_FILE line of .run/kafka/sasl.env); IBM Event Streams uses public CAs, so there it means a TLS-intercepting proxy or a wrong host",
  ],
  tlsHandshake: [
    "protocol-mismatch",
    "TLS handshake failed (is this a PLAINTEXT port?)",
    "KAFKA_SECURITY_PROTOCOL=SASL_SSL is talking to a plaintext listener: use the broker's SASL_SSL port (localhost:9093 locally, 9093 on Event Streams) or set KAFKA_SECURITY_PROTOCOL=PLAINTEXT",
  ],
  dns: [
    "dns",
    "Kafka broker host name does not resolve",
    "check KAFKA_BROKERS (or kafka_brokers_sasl in the credential JSON) for typos, and the network/DNS",
  ],
  refused: [
    "refused",
    "Kafka broker refused the connection",
    "start the broker (`deno task kafka` locally) or fix the host:port in KAFKA_BROKERS",
  ],
  plaintextOnTls: [
    "protocol-mismatch",
    "Kafka broker closed the connection or did not answer (PLAINTEXT client on a TLS port?)",
    "if this is a SASL_SSL listener (9093 locally, IBM Event Streams), set KAFKA_SECURITY_PROTOCOL=SASL_SSL with KAFKA_PASSWORD (or EVENT_STREAMS_CREDENTIALS); otherwise check the broker is up and reachable",
  ],
  timeout: [
    "timeout",
    "Kafka broker did not answer (timeout or closed connection)",
    "if the port is a TLS/SASL_SSL listener (9093), set KAFKA_SECURITY_PROTOCOL=SASL_SSL (a PLAINTEXT client gets no answer there); otherwise check the broker is up and reachable (firewall, VPN)",
  ],
} as const satisfies Record<string, readonly [KafkaErrorDescription["kind"], string, string]>;

/** Patterns of the error text, in the order they are tried, and the case each one means. */
const KAFKA_PATTERNS: readonly (readonly [keyof typeof KAFKA_CASES, RegExp])[] = [
  [
    "authentication",
    /SASL_AUTHENTICATION_FAILED|authentication failed|Invalid username or password/i,
  ],
  ["authorization", /AUTHORIZATION_FAILED|not authorized/i],
  [
    "topicNotFound",
    /UNKNOWN_TOPIC_OR_PARTITION|does not host this topic-partition|topic not found/i,
  ],
  ["tls", /self[- ]signed certificate|unable to verify|UNABLE_TO_GET_ISSUER|CERT_|certificate/i],
  [
    "tlsHandshake",
    /wrong version number|packet length too long|before secure TLS connection|ERR_SSL|SSL routines|unknown protocol|InvalidContentType|received corrupt message|tls handshake eof/i,
  ],
  ["dns", /ENOTFOUND|EAI_AGAIN|getaddrinfo|failed to lookup address|Name or service not known/i],
  ["refused", /ECONNREFUSED|Connection refused/i],
];
