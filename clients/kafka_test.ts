import assert from "node:assert/strict";
import process from "node:process";
import { CompressionCodecs, CompressionTypes, logLevel } from "kafkajs";
import {
  createKafka,
  describeKafkaError,
  formatLogEntry,
  registerSnappyCodec,
  silenceTimeoutNegativeWarning,
} from "./kafka.ts";
import { loadSettings } from "../config/settings.ts";

function kafkaError(name: string, message: string, cause?: Error): Error {
  const err = new Error(message, cause ? { cause } : undefined);
  err.name = name;
  return err;
}

function retriesExceeded(cause: Error): Error {
  return kafkaError("KafkaJSNumberOfRetriesExceeded", cause.message, cause);
}

const SASL = loadSettings({
  KAFKA_BROKERS: "localhost:9093",
  KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
  KAFKA_PASSWORD: "top-secret-pw",
}).kafka;
const PLAIN = loadSettings({ KAFKA_BROKERS: "localhost:9093" }).kafka;

Deno.test("describeKafkaError() classifies a SASL authentication failure", () => {
  const d = describeKafkaError(
    kafkaError(
      "KafkaJSSASLAuthenticationError",
      "SASL PLAIN authentication failed: Authentication failed: Invalid username or password",
    ),
    SASL,
  );
  assert.equal(d.kind, "authentication");
  assert.match(d.message, /^Kafka authentication failed: /);
  assert.match(d.remedy, /KAFKA_PASSWORD/);
});

Deno.test("describeKafkaError() walks the cause chain of retried errors", () => {
  const cases: [string, string][] = [
    ["Connection error: connect ECONNREFUSED 127.0.0.1:9092", "refused"],
    ["Connection error: getaddrinfo ENOTFOUND nosuch.invalid", "dns"],
    ["Connection error: self-signed certificate in certificate chain", "tls"],
    ["Connection error: unable to verify the first certificate", "tls"],
    [
      "Connection error: Client network socket disconnected before secure TLS connection was established",
      "protocol-mismatch",
    ],
    ["This server does not host this topic-partition", "topic-not-found"],
    ["Something odd", "unknown"],
  ];
  for (const [message, kind] of cases) {
    const d = describeKafkaError(
      retriesExceeded(kafkaError("KafkaJSConnectionError", message)),
      SASL,
    );
    assert.equal(d.kind, kind, message);
    assert.ok(d.message.includes(message), d.message);
  }
});

Deno.test("describeKafkaError() reads a closed connection from PLAINTEXT as a TLS port", () => {
  const closed = retriesExceeded(kafkaError("KafkaJSConnectionClosedError", "Closed connection"));
  const plain = describeKafkaError(closed, PLAIN);
  assert.equal(plain.kind, "protocol-mismatch");
  assert.match(plain.remedy, /KAFKA_SECURITY_PROTOCOL=SASL_SSL/);
  assert.equal(describeKafkaError(closed, SASL).kind, "timeout");
});

Deno.test("describeKafkaError() redacts the password and handles non-errors", () => {
  const d = describeKafkaError(new Error("failed with top-secret-pw inside"), SASL);
  assert.ok(!d.message.includes("top-secret-pw"));
  assert.match(d.message, /failed with \*\*\* inside/);
  assert.equal(describeKafkaError("plain string").kind, "unknown");
});

Deno.test("describeKafkaError() names Deno permission denials", () => {
  const denied = new Deno.errors.NotCapable('Requires net access to "localhost:9092"');
  assert.equal(describeKafkaError(retriesExceeded(denied)).kind, "permission");
});

Deno.test("formatLogEntry() prints one redacted line with level and namespace", () => {
  const line = formatLogEntry({
    namespace: "Connection",
    level: logLevel.ERROR,
    label: "ERROR",
    log: {
      timestamp: "2026-11-26T20:00:00.000Z",
      message: "Connection error: top-secret-pw",
      broker: "localhost:9093",
    },
  }, ["top-secret-pw"]);
  assert.equal(
    line,
    '2026-11-26T20:00:00.000Z ERROR [kafkajs Connection] Connection error: *** {"broker":"localhost:9093"}',
  );
});

Deno.test("createKafka() routes kafkajs logs through the given logger, redacted", () => {
  const lines: string[] = [];
  const kafka = createKafka(SASL, { logLevel: "info", log: (line) => lines.push(line) });
  kafka.logger().info("password is top-secret-pw", { sasl: "top-secret-pw" });
  kafka.logger().debug("not shown at info");
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /INFO \[kafkajs\s*\S*\] password is \*\*\*/);
  assert.ok(!lines[0]!.includes("top-secret-pw"));
});

Deno.test("registerSnappyCodec() installs the snappy codec idempotently", () => {
  registerSnappyCodec();
  const codec = CompressionCodecs[CompressionTypes.Snappy];
  assert.equal(typeof codec, "function");
  registerSnappyCodec();
  assert.equal(CompressionCodecs[CompressionTypes.Snappy], codec);
});

Deno.test("silenceTimeoutNegativeWarning() filters only that warning, once", () => {
  silenceTimeoutNegativeWarning();
  const count = process.listenerCount("warning");
  silenceTimeoutNegativeWarning();
  assert.equal(process.listenerCount("warning"), count);
});
