/**
 * Kafka settings: brokers, security protocol, SASL credentials and CA, from `KAFKA_*` variables
 * and the IBM Event Streams service credential JSON (`EVENT_STREAMS_CREDENTIALS[_FILE]`), which
 * explicit variables override. Import the types from `settings.ts`.
 *
 * @module
 */

import { DEFAULTS, PROTOCOLS, type SecurityProtocol } from "./defaults.ts";
import type { Get } from "./_common.ts";

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

const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** Fields taken from an Event Streams service credential. */
interface EventStreamsCredential {
  brokers?: string[];
  user?: string;
  password?: string;
}

/** The Kafka settings, or undefined with the reasons added to `problems`. */
export function loadKafka(
  get: Get,
  readTextFile: (path: string) => string,
  problems: string[],
): KafkaSettings | undefined {
  const credential = loadCredential(get, readTextFile, problems);

  const brokersText = get("KAFKA_BROKERS");
  const brokers = brokersText !== undefined
    ? splitList(brokersText)
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
  get: Get,
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
    credential.brokers = splitList(brokers);
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

/** Splits a comma-separated list, trimmed, without empty entries. */
function splitList(text: string): string[] {
  return text.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/** The text of the file a variable names, or undefined with the reason in `problems`. */
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
