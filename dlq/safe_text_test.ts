import assert from "node:assert/strict";
import { escapeText, safeBytes, safeText, truncate } from "./safe_text.ts";

Deno.test("escapeText: nothing that steers a terminal survives", () => {
  const hostile = "a\u001b]0;title\u0007b\u009bc\u202ed\u2066e\u200bf\ufeffg\u007fh\\";
  const out = escapeText(hostile);
  // deno-lint-ignore no-control-regex -- looking for control characters is the point
  assert.ok(!/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/.test(out));
  assert.equal(out, "a\\x1b]0;title\\x07b\\x9bc\\u{202e}d\\u{2066}e\\u{200b}f\\u{feff}g\\x7fh\\\\");
  assert.equal(escapeText("x\ny", { keepNewlines: true }), "x\ny");
});

Deno.test("truncate/safeText: cut by code points, marked, never splitting a pair", () => {
  assert.equal(truncate("😀😀😀", 2), "😀😀…(+1 chars)");
  assert.equal(safeText("\u001b".repeat(10), 8), "\\x1b\\x1b…(+32 chars)");
});

Deno.test("safeBytes: invalid UTF-8 shown byte by byte; long values cut early", () => {
  assert.equal(safeBytes(new Uint8Array([0x41, 0xc0, 0xaf, 0x5c])), "A\\xc0\\xaf\\\\");
  assert.equal(safeBytes(new Uint8Array(0)), "(empty)");
  const big = new TextEncoder().encode("é".repeat(10_000));
  const shown = safeBytes(big, 10);
  assert.match(shown, /^é{10}…\(\+\d+ (chars|bytes)\)$/);
  // A multi-byte character cut at the read limit is not reported as invalid UTF-8.
  assert.ok(!shown.includes("\\x"));
});
