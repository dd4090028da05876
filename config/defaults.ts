/**
 * The settings' value sets and defaults. Import them from `settings.ts`, which re-exports them.
 *
 * @module
 */

/** Kafka security protocols orderflow supports. */
export type SecurityProtocol = "PLAINTEXT" | "SASL_SSL";
/** Object layouts for the sink. */
export type SinkLayout = "per-order" | "batched";
/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

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

/** Log levels, for validation. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
/** Sink layouts, for validation. */
export const LAYOUTS: readonly SinkLayout[] = ["per-order", "batched"];
/** Security protocols, for validation. */
export const PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT", "SASL_SSL"];
