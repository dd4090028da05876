/**
 * `deno task dlq show`: one dead letter as text (headers, value pretty-printed when it is JSON,
 * everything escaped) or as a JSON line. Pure.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type DeadLetter, failedAtOf, headerText, reasonOf, redrivenFromOf } from "./record.ts";
import { decodeUtf8, escapeText, safeBytes, safeText, truncate } from "./safe_text.ts";

/** Default `--max-chars`: longest value shown per record. */
export const DEFAULT_MAX_CHARS = 2000;

/** The value parsed as JSON, or undefined when it is not UTF-8 JSON. */
function parseJson(value: Uint8Array | null): { value: unknown } | undefined {
  if (value === null || value.length === 0) return undefined;
  const text = decodeUtf8(value);
  if (text === undefined) return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/**
 * A record for a terminal: a heading (`<partition>@<offset>`, reason, failure time, and
 * `redriven from <partition>@<offset>` when it failed again after a redrive), the key, every
 * header, and the value — pretty-printed JSON when it parses, else its escaped bytes — cut at
 * `maxChars`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRecord } from "./show.ts";
 * const text = formatRecord({ partition: 0, offset: "4", key: null, timestamp: 0,
 *   value: new TextEncoder().encode('{"a":"\\u001b[2J"}'), headers: { "dlq.reason": "invalid_order" } });
 * assert.match(text, /0@4 invalid_order/);
 * assert.match(text, /"a": "\\\\u001b\[2J"/);
 * assert.ok(!text.includes("\u001b"));
 * ```
 */
export function formatRecord(record: DeadLetter, maxChars: number = DEFAULT_MAX_CHARS): string {
  const at = failedAtOf(record);
  const from = redrivenFromOf(record);
  const lines = [
    `--- ${record.partition}@${record.offset} ${safeText(reasonOf(record), 60)}, failed ${
      Number.isFinite(at) ? new Date(at).toISOString() : "?"
    }${from === undefined ? "" : `, redriven from ${from}`}`,
    `key: ${safeBytes(record.key, 200)}`,
    "headers:",
  ];
  for (const name of Object.keys(record.headers).sort()) {
    lines.push(
      `  ${safeText(name, 80)}: ${safeText(headerText(record.headers, name) ?? "", 400)}`,
    );
  }
  const json = parseJson(record.value);
  if (json !== undefined) {
    const pretty = escapeText(JSON.stringify(json.value, null, 2), { keepNewlines: true });
    lines.push(`value (JSON, ${record.value!.length} bytes):`);
    lines.push(...truncate(pretty, maxChars).split("\n").map((l) => `  ${l}`));
  } else {
    const size = record.value === null ? "" : `, ${record.value.length} bytes`;
    lines.push(`value (not JSON${size}): ${safeBytes(record.value, maxChars)}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A record as one JSON object: partition, offset, reason, failed_at, redriven_from
 * (`<partition>@<offset>`, null for a first failure), key (text, or base64 when not UTF-8), headers
 * (text), and the value as `value_json` (parsed), `value_text` (UTF-8, not JSON) or
 * `value_base64`.
 */
export function recordJson(record: DeadLetter): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(record.headers).sort()) {
    headers[name] = headerText(record.headers, name) ?? "";
  }
  const at = failedAtOf(record);
  return {
    partition: record.partition,
    offset: record.offset,
    reason: reasonOf(record),
    failed_at: Number.isFinite(at) ? new Date(at).toISOString() : null,
    redriven_from: redrivenFromOf(record) ?? null,
    ...bytesField("key", record.key),
    headers,
    ...valueField(record.value),
  };
}

function bytesField(name: string, bytes: Uint8Array | null): Record<string, unknown> {
  if (bytes === null) return { [name]: null };
  const text = decodeUtf8(bytes);
  return text !== undefined
    ? { [name]: text }
    : { [`${name}_base64`]: Buffer.from(bytes).toString("base64") };
}

function valueField(value: Uint8Array | null): Record<string, unknown> {
  const json = parseJson(value);
  if (json !== undefined) return { value_json: json.value };
  if (value === null) return { value: null };
  const text = decodeUtf8(value);
  return text !== undefined
    ? { value_text: text }
    : { value_base64: Buffer.from(value).toString("base64") };
}
