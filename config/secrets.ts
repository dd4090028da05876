/**
 * Secrets in settings: list them, redact them from text, and print settings without them.
 * Import these from `settings.ts`, which re-exports them.
 *
 * @module
 */

import { deepFreeze } from "./_common.ts";
import type { KafkaSettings } from "./kafka.ts";
import type { Settings } from "./settings.ts";
import type { SinkSettings } from "./sink.ts";

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
