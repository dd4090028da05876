/**
 * Showing untrusted bytes on a terminal: dead letters are, by definition, input nobody vetted. A
 * value may hold ANSI escape sequences (recolour, move the cursor, rewrite the screen), bidi
 * overrides that reorder what is shown, or megabytes of text. Everything the `dlq` task prints from
 * a record goes through {@linkcode safeText} or {@linkcode safeBytes}.
 *
 * @module
 */

/** Longest text shown for one sample or header, in characters, unless the caller says otherwise. */
export const DEFAULT_SHOWN_CHARS = 200;

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Characters never printed as-is: C0 controls and DEL, C1 controls, and the invisible format
 * characters that change how the rest of a line reads (zero-width, line/paragraph separators, bidi
 * embeddings/overrides/isolates, BOM).
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\\]/g;

/**
 * Escapes `text` so printing it cannot control the terminal: backslash becomes `\\`, newline,
 * CR and tab become `\n`, `\r`, `\t` (unless `keepNewlines`, for pretty-printed JSON whose line
 * breaks are structure), other controls `\xNN`, format characters `\u{NNNN}`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeText } from "./safe_text.ts";
 * assert.equal(escapeText("a\u001b[2Jb\n"), "a\\x1b[2Jb\\n");
 * assert.equal(escapeText("x\u202ey"), "x\\u{202e}y");
 * ```
 */
export function escapeText(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(UNSAFE, (c) => {
    if (c === "\\") return "\\\\";
    if (c === "\n" && options.keepNewlines) return c;
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.codePointAt(0)!;
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u{${code.toString(16).padStart(4, "0")}}`;
  });
}

/**
 * `text` cut to `limit` characters (code points, so a surrogate pair is never split), with the
 * cut marked: `…(+N chars)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { truncate } from "./safe_text.ts";
 * assert.equal(truncate("abcdef", 3), "abc…(+3 chars)");
 * assert.equal(truncate("abc", 3), "abc");
 * ```
 */
export function truncate(text: string, limit: number): string {
  const chars = Array.from(text);
  if (chars.length <= limit) return text;
  return `${chars.slice(0, limit).join("")}…(+${chars.length - limit} chars)`;
}

/** Escaped and truncated (escaping first, so an escape sequence is never cut in half unseen). */
export function safeText(text: string, limit: number = DEFAULT_SHOWN_CHARS): string {
  return truncate(escapeText(text), limit);
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes `bytes` as strict UTF-8; `undefined` when they are not valid UTF-8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUtf8 } from "./safe_text.ts";
 * assert.equal(decodeUtf8(new Uint8Array([0x68, 0x69])), "hi");
 * assert.equal(decodeUtf8(new Uint8Array([0xff])), undefined);
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Printable form of raw bytes: `(null)` for a tombstone, `(empty)` for zero bytes, the escaped
 * text when they are valid UTF-8, otherwise printable ASCII as-is and every other byte as `\xNN`
 * (so invalid bytes are shown, not replaced). Truncated to `limit` characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { safeBytes } from "./safe_text.ts";
 * assert.equal(safeBytes(new Uint8Array([0x7b, 0xff, 0x7d])), "{\\xff}");
 * assert.equal(safeBytes(null), "(null)");
 * ```
 */
export function safeBytes(bytes: Uint8Array | null, limit: number = DEFAULT_SHOWN_CHARS): string {
  if (bytes === null) return "(null)";
  if (bytes.length === 0) return "(empty)";
  // Decode no more than could be shown (4 bytes per character at most), plus one to see a cut.
  const head = bytes.subarray(0, limit * 4 + 1);
  const text = decodeUtf8(head) ??
    (head.length < bytes.length ? decodeUtf8Prefix(head) : undefined);
  const shown = text !== undefined ? safeText(text, limit) : truncate(escapeBytes(head), limit);
  return head.length < bytes.length && !shown.includes("…(+")
    ? `${shown}…(+${bytes.length - head.length} bytes)`
    : shown;
}

/** `bytes` without a multi-byte character cut at its end, decoded; undefined if still invalid. */
function decodeUtf8Prefix(bytes: Uint8Array): string | undefined {
  for (let drop = 1; drop <= 3 && drop < bytes.length; drop++) {
    const text = decodeUtf8(bytes.subarray(0, bytes.length - drop));
    if (text !== undefined) return text;
  }
  return undefined;
}

function escapeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    out += b === 0x5c
      ? "\\\\"
      : b >= 0x20 && b < 0x7f
      ? String.fromCharCode(b)
      : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}
