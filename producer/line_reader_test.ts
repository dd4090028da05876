import assert from "node:assert/strict";
import { readLines } from "./line_reader.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { ignoreBOM: true });

async function collect(chunks: (string | Uint8Array)[], maxLineBytes?: number) {
  const stream = ReadableStream.from(chunks.map((c) => typeof c === "string" ? enc.encode(c) : c));
  const out: [number, string, boolean][] = [];
  const opts = maxLineBytes === undefined ? {} : { maxLineBytes };
  for await (const l of readLines(stream, opts)) {
    out.push([l.number, dec.decode(l.bytes), l.tooLong ?? false]);
  }
  return out;
}

Deno.test("readLines() numbers lines, skips blanks and strips CRLF", async () => {
  assert.deepEqual(await collect(["a\r\n\r\n  \nb\n", "\nc"]), [
    [1, "a", false],
    [4, "b", false],
    [6, "c", false],
  ]);
});

Deno.test("readLines() joins lines split across chunks, even inside CRLF and UTF-8", async () => {
  const bytes = enc.encode('{"x":"é"}\r\n{"y":2}\n');
  const chunks = [...bytes].map((b) => new Uint8Array([b])); // one byte per chunk
  assert.deepEqual(await collect(chunks), [[1, '{"x":"é"}', false], [2, '{"y":2}', false]]);
});

Deno.test("readLines() strips a UTF-8 BOM on the first line only", async () => {
  assert.deepEqual(await collect(["\uFEFFa\n\uFEFFb\n"]), [[1, "a", false], [2, "\uFEFFb", false]]);
});

Deno.test("readLines() keeps invalid UTF-8 bytes untouched", async () => {
  const out: Uint8Array[] = [];
  for await (
    const l of readLines(ReadableStream.from([new Uint8Array([0x7b, 0xff, 0x7d, 0x0a])]))
  ) {
    out.push(l.bytes);
  }
  assert.deepEqual(out, [new Uint8Array([0x7b, 0xff, 0x7d])]);
});

Deno.test("readLines() reports an over-long line without buffering it", async () => {
  const long = "x".repeat(50);
  assert.deepEqual(await collect(["ok\n", long.slice(0, 20), long.slice(20), "\nnext\n"], 10), [
    [1, "ok", false],
    [2, "", true],
    [3, "next", false],
  ]);
  assert.deepEqual(await collect(["ok\n" + long + "\nnext"], 10), [
    [1, "ok", false],
    [2, "", true],
    [3, "next", false],
  ]);
  assert.deepEqual(await collect(["ok\n", long], 10), [[1, "ok", false], [2, "", true]]);
});
