/**
 * Streaming JSON-lines reader: splits a byte stream into lines with their numbers, in bounded
 * memory, keeping each line's bytes exactly as they were (no UTF-8 repair), so `--no-validate`
 * can send them untouched.
 *
 * @module
 */

/** One non-blank line of input. */
export interface Line {
  /** 1-based line number in the input. */
  readonly number: number;
  /** The line's bytes without the line terminator (`\n` or `\r\n`). */
  readonly bytes: Uint8Array;
  /** Set when the line was longer than the limit: `bytes` is then empty. */
  readonly tooLong?: true;
}

/** Options of {@linkcode readLines}. */
export interface ReadLinesOptions {
  /** Longest accepted line in bytes (default 1 MiB); longer lines are reported, not buffered. */
  readonly maxLineBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Yield the non-blank lines of a byte stream with their 1-based line numbers. Handles `\n` and
 * `\r\n`, a last line without terminator, and a UTF-8 byte-order mark. Memory is bounded by
 * `maxLineBytes` plus one chunk: an over-long line is yielded as `{ tooLong: true }` and skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readLines } from "./line_reader.ts";
 * const input = ReadableStream.from([new TextEncoder().encode("a\r\n\n b\n")]);
 * const lines = [];
 * for await (const l of readLines(input)) lines.push([l.number, new TextDecoder().decode(l.bytes)]);
 * assert.deepEqual(lines, [[1, "a"], [3, " b"]]);
 * ```
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: ReadLinesOptions = {},
): AsyncGenerator<Line> {
  const maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let skipping = false; // inside an over-long line: drop bytes until the next LF
  let number = 0;
  let first = true;

  function take(tail: Uint8Array): Uint8Array {
    if (pending.length === 0) return tail;
    const out = new Uint8Array(pendingBytes + tail.length);
    let at = 0;
    for (const part of pending) {
      out.set(part, at);
      at += part.length;
    }
    out.set(tail, at);
    pending = [];
    pendingBytes = 0;
    return out;
  }

  function finish(raw: Uint8Array): Line | undefined {
    let bytes = raw;
    if (first) {
      first = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    if (isBlank(bytes)) return undefined;
    return { number, bytes };
  }

  for await (const chunk of stream) {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf < 0) {
        if (!skipping) {
          const rest = chunk.subarray(start);
          if (pendingBytes + rest.length > maxLineBytes) {
            skipping = true;
            pending = [];
            pendingBytes = 0;
          } else {
            pending.push(rest.slice());
            pendingBytes += rest.length;
          }
        }
        break;
      }
      number++;
      if (skipping) {
        skipping = false;
        first = false;
        yield { number, bytes: new Uint8Array(0), tooLong: true };
      } else {
        const part = chunk.subarray(start, lf);
        if (pendingBytes + part.length > maxLineBytes + 1) { // +1: a trailing CR is allowed
          pending = [];
          pendingBytes = 0;
          first = false;
          yield { number, bytes: new Uint8Array(0), tooLong: true };
        } else {
          const line = finish(take(part.slice()));
          if (line !== undefined) yield line;
        }
      }
      start = lf + 1;
    }
  }
  if (skipping) {
    number++;
    yield { number, bytes: new Uint8Array(0), tooLong: true };
  } else if (pendingBytes > 0) {
    number++;
    const line = finish(take(new Uint8Array(0)));
    if (line !== undefined) yield line;
  }
}

function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  }
  return true;
}
