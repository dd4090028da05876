/**
 * Readers for the fields of one record in a buffer, for the `fetch_v11_decoder` patch: a
 * bounded varint, nullable byte strings and header names. They return
 * `undefined` for anything that is not plainly well-formed, so the caller can hand the record
 * to kafkajs' own decoder.
 *
 * @module
 */

import type { Buffer } from "node:buffer";

/** A header name seen lately, as bytes and text: every record of a batch repeats the same few. */
export interface RecentName {
  readonly bytes: Uint8Array;
  readonly name: string;
}

/** Per record batch: where the last varint ended, and the header names seen lately. */
export interface Scratch {
  end: number;
  readonly names: RecentName[];
}
const RECENT_NAMES = 16;
const RECENT_NAME_MAX_BYTES = 64;

/**
 * A zig-zag varint of at most 4 bytes (28 bits, where kafkajs' 32-bit arithmetic is exact)
 * within `[at, end)`; undefined otherwise. Sets `scratch.end` to where it stopped.
 */
export function readSmallVarInt(
  buf: Buffer,
  at: number,
  end: number,
  scratch: Scratch,
): number | undefined {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    if (at >= end || shift === 28) return undefined;
    byte = buf[at++]!;
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80);
  scratch.end = at;
  return (result >>> 1) ^ -(result & 1);
}

/**
 * A nullable byte string (kafkajs' `readVarIntBytes`: a zig-zag varint length, -1 for null)
 * within `[at, end)`; undefined when it is not plainly well-formed. Sets `scratch.end` past it.
 */
export function readBytes(
  buf: Buffer,
  at: number,
  end: number,
  scratch: Scratch,
): Buffer | null | undefined {
  const start = readSpan(buf, at, end, scratch);
  if (start === undefined) return undefined;
  return start === NULL ? null : buf.slice(start, scratch.end);
}

/** What {@linkcode readSpan} returns for a null byte string. */
export const NULL = -1;

/**
 * Where the bytes of a nullable byte string start (`scratch.end`: where they end), or `NULL`
 * (`scratch.end`: after its length); undefined when they do not fit before `end`.
 */
export function readSpan(
  buf: Buffer,
  at: number,
  end: number,
  scratch: Scratch,
): number | undefined {
  const length = readSmallVarInt(buf, at, end, scratch);
  if (length === undefined || length < -1 || scratch.end + length > end) return undefined;
  if (length === -1) return NULL;
  const start = scratch.end;
  scratch.end = start + length;
  return start;
}

/** `buf.toString("utf8", at, end)`, without decoding again a name seen lately. */
export function headerName(
  buf: Buffer,
  at: number,
  end: number,
  recentNames: RecentName[],
): string {
  const length = end - at;
  for (const recent of recentNames) {
    const bytes = recent.bytes;
    if (bytes.length !== length) continue;
    let i = 0;
    while (i < length && bytes[i] === buf[at + i]) i++;
    if (i === length) return recent.name;
  }
  const name = buf.toString("utf8", at, end);
  if (length <= RECENT_NAME_MAX_BYTES) {
    if (recentNames.length === RECENT_NAMES) recentNames.shift();
    recentNames.push({ bytes: Uint8Array.from(buf.subarray(at, end)), name });
  }
  return name;
}
