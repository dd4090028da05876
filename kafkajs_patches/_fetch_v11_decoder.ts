/**
 * The `fetch_v11_decoder` patch: kafkajs 2.2.4's Fetch v11 response `decode` (the version kafkajs
 * uses against Kafka >= 2.3) with a record loop that reads each record batch directly: varints
 * from the bytes, offsets and timestamps in double arithmetic while they are safe integers,
 * headers built in place. kafkajs builds a `Decoder`, 64-bit `Long`s and a Buffer slice per
 * record and rebuilds the header object per header; under Deno that is a large share of the
 * consumer's CPU (figures: bench/consumer_notes.md).
 *
 * Rule: it returns the same objects as kafkajs' decoder for every input (`deepStrictEqual`, tested
 * in `_fetch_v11_decoder_test.ts`). Whatever it does not recognise as a plainly well-formed record
 * (a varint longer than the fast path reads, fields running past the record's length, offsets
 * beyond 2^53, a null record) goes to kafkajs' own record decoder, and legacy message sets to
 * kafkajs' `decodeMessages`, so the rare cases keep kafkajs' exact behaviour.
 *
 * Install it through `installKafkajsPatches()` (mod.ts), never directly: that checks the kafkajs
 * version first and reports whether the patch is live.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import {
  type BatchContext,
  compression,
  type DecodedMessage,
  decodeMessages as decodeMessagesOriginal,
  Decoder as KDecoder,
  decodeRecord as decodeRecordOriginal,
  type FetchDecode,
  fetchV11Response,
  type KafkaDecoder,
  KafkaJSPartialMessageError,
} from "./_kafkajs.ts";

/** Marks kafkajs' response module as patched; the value is kafkajs' own `decode`. */
const INSTALLED = Symbol.for("orderflow.kafkajsPatches.fetchV11Decoder");
/** Where the magic byte sits in a record batch / message set. */
const MAGIC_OFFSET = 16;
const RECORD_BATCH_MAGIC = 2;
const RECORD_BATCH_OVERHEAD = 49;
const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;

type PatchedModule = { decode: FetchDecode; [INSTALLED]?: FetchDecode };

/**
 * Sets kafkajs' Fetch v11 `decode` to {@linkcode decodeFetchV11} (once per process); returns
 * kafkajs' original `decode`.
 */
export function installFetchV11Decoder(): FetchDecode {
  const module = fetchV11Response as PatchedModule;
  const done = module[INSTALLED];
  if (done !== undefined) return done;
  const original = module.decode;
  module.decode = decodeFetchV11;
  Object.defineProperty(module, INSTALLED, { value: original, configurable: true });
  return original;
}

/** Puts kafkajs' own `decode` back (a failed self-test); a no-op when not installed. */
export function uninstallFetchV11Decoder(): void {
  const module = fetchV11Response as PatchedModule;
  const original = module[INSTALLED];
  if (original === undefined) return;
  module.decode = original;
  delete module[INSTALLED];
}

/** kafkajs' Fetch v11 `decode`, with {@linkcode decodeMessages} below. */
export async function decodeFetchV11(rawData: Buffer): Promise<unknown> {
  const decoder = new KDecoder(rawData);
  const clientSideThrottleTime = decoder.readInt32();
  const errorCode = decoder.readInt16();
  const sessionId = decoder.readInt32();
  const responses = await decoder.readArrayAsync(decodeResponse);
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

async function decodeResponse(decoder: KafkaDecoder) {
  return {
    topicName: decoder.readString(),
    partitions: await decoder.readArrayAsync(decodePartition),
  };
}

function decodeAbortedTransactions(decoder: KafkaDecoder) {
  return {
    producerId: decoder.readInt64().toString(),
    firstOffset: decoder.readInt64().toString(),
  };
}

async function decodePartition(decoder: KafkaDecoder) {
  return {
    partition: decoder.readInt32(),
    errorCode: decoder.readInt16(),
    highWatermark: decoder.readInt64().toString(),
    lastStableOffset: decoder.readInt64().toString(),
    lastStartOffset: decoder.readInt64().toString(),
    abortedTransactions: decoder.readArray(decodeAbortedTransactions),
    preferredReadReplica: decoder.readInt32(),
    messages: await decodeMessages(decoder),
  };
}

/** kafkajs' `decodeMessages` (fetch v4+), record batches only; message sets go to kafkajs. */
async function decodeMessages(decoder: KafkaDecoder): Promise<DecodedMessage[]> {
  const start = decoder.offset;
  const messagesSize = decoder.readInt32();
  if (messagesSize <= 0 || !decoder.canReadBytes(messagesSize)) return [];
  if (
    messagesSize <= MAGIC_OFFSET ||
    decoder.buffer[decoder.offset + MAGIC_OFFSET] !== RECORD_BATCH_MAGIC
  ) {
    decoder.offset = start;
    return decodeMessagesOriginal(decoder);
  }
  const messagesDecoder = new KDecoder(decoder.readBytes(messagesSize));
  const records: DecodedMessage[] = [];
  while (messagesDecoder.canReadBytes(RECORD_BATCH_OVERHEAD)) {
    try {
      await decodeRecordBatch(messagesDecoder, records);
    } catch (error) {
      // The tail of a fetch can hold an incomplete batch (maxBytes): kafkajs stops there too.
      if ((error as Error).name === "KafkaJSPartialMessageError") break;
      throw error;
    }
  }
  return records;
}

/** kafkajs' RecordBatch v0 decoder; appends the batch's messages to `out`. */
async function decodeRecordBatch(fetchDecoder: KafkaDecoder, out: DecodedMessage[]): Promise<void> {
  const firstOffset = fetchDecoder.readInt64().toString();
  const length = fetchDecoder.readInt32();
  const decoder = fetchDecoder.slice(length);
  fetchDecoder.forward(length);
  const remainingBytes = decoder.buffer.length;
  if (remainingBytes < length) {
    throw new KafkaJSPartialMessageError(
      `Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`,
    );
  }
  const partitionLeaderEpoch = decoder.readInt32();
  const magicByte = decoder.readInt8();
  decoder.readInt32(); // CRC (kafkajs does not check it either)
  const attributes = decoder.readInt16();
  const lastOffsetDelta = decoder.readInt32();
  const firstTimestamp = decoder.readInt64().toString();
  const maxTimestamp = decoder.readInt64().toString();
  const producerId = decoder.readInt64().toString();
  const producerEpoch = decoder.readInt16();
  const firstSequence = decoder.readInt32();
  const context: BatchContext = {
    firstOffset,
    firstTimestamp,
    partitionLeaderEpoch,
    inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
    magicByte,
  };
  const codec = compression.lookupCodecByAttributes(attributes);
  if (codec === null) {
    const count = decoder.readInt32();
    if (count === -1) return;
    decoder.offset = decodeRecords(decoder.buffer, decoder.offset, count, context, out);
    return;
  }
  const count = decoder.readInt32();
  if (count <= 0) return;
  const buffer = await codec.decompress(decoder.readAll());
  decodeRecords(buffer, 0, count, context, out);
}

/**
 * Decodes `count` records from `buf` at `at` like kafkajs' `decodeRecord` (a varint length, then
 * the record within that many bytes); returns the offset after them. Exported for the install
 * self-test (`_self_test.ts`).
 */
export function decodeRecords(
  buf: Buffer,
  at: number,
  count: number,
  context: BatchContext,
  out: DecodedMessage[],
): number {
  const firstOffset = Number(context.firstOffset);
  const firstTimestamp = Number(context.firstTimestamp);
  const fixedTimestamp = context.timestampType === LOG_APPEND_TIME && context.maxTimestamp
    ? context.maxTimestamp
    : undefined;
  const cursor = { at: 0 };
  const scratch: Scratch = { end: 0, names: [] };
  for (let i = 0; i < count; i++) {
    // kafkajs: decoder.readVarIntBytes(), then RecordDecoder(new Decoder(slice)).
    cursor.at = at;
    const length = readVarInt(buf, cursor);
    at = cursor.at;
    const end = at + length;
    let message: DecodedMessage | undefined;
    if (length >= 0 && end <= buf.length) {
      message = decodeRecord(
        buf,
        at,
        end,
        firstOffset,
        firstTimestamp,
        fixedTimestamp,
        context,
        scratch,
      );
    }
    if (message === undefined) {
      const slice = length === -1 ? null : buf.slice(at, end);
      message = decodeRecordOriginal(new KDecoder(slice), context);
    }
    out.push(message);
    if (length !== -1) at += length;
  }
  return at;
}

/** kafkajs' `Decoder.readVarInt`, on a buffer and a cursor. */
function readVarInt(buf: Buffer, cursor: { at: number }): number {
  let currentByte: number;
  let result = 0;
  let i = 0;
  let at = cursor.at;
  do {
    currentByte = buf[at++]!;
    result += (currentByte & 0x7f) << i;
    i += 7;
  } while (currentByte >= 0x80);
  cursor.at = at;
  return (result >>> 1) ^ -(result & 1);
}

/**
 * One record in `[at, end)`, or undefined when it is not plainly well-formed (the caller then
 * uses kafkajs' own decoder on it).
 */
function decodeRecord(
  buf: Buffer,
  start: number,
  end: number,
  firstOffset: number,
  firstTimestamp: number,
  fixedTimestamp: string | undefined,
  context: BatchContext,
  scratch: Scratch,
): DecodedMessage | undefined {
  let at = start;
  if (at >= end) return undefined;
  const attributes = (buf[at++]! << 24) >> 24;
  // Varlong timestamp delta, zig-zag; up to 7 bytes (49 bits) exactly in doubles.
  let raw = 0;
  let scale = 1;
  let byte: number;
  let n = 0;
  do {
    if (at >= end || n === 7) return undefined;
    byte = buf[at++]!;
    raw += (byte & 0x7f) * scale;
    scale *= 128;
    n++;
  } while (byte >= 0x80);
  const timestampDelta = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  let timestamp = fixedTimestamp;
  if (timestamp === undefined) {
    const t = firstTimestamp + timestampDelta;
    if (!Number.isSafeInteger(firstTimestamp) || !Number.isSafeInteger(t)) return undefined;
    timestamp = String(t);
  }
  // Varint offset delta (at most 5 bytes; kafkajs' arithmetic).
  const offsetDelta = readSmallVarInt(buf, at, end, scratch);
  if (offsetDelta === undefined) return undefined;
  at = scratch.end;
  const o = firstOffset + offsetDelta;
  if (!Number.isSafeInteger(firstOffset) || !Number.isSafeInteger(o)) return undefined;
  const offset = String(o);
  const keyLength = readSmallVarInt(buf, at, end, scratch);
  if (keyLength === undefined || keyLength < -1) return undefined;
  at = scratch.end;
  let key: Buffer | null = null;
  if (keyLength !== -1) {
    if (at + keyLength > end) return undefined;
    key = buf.slice(at, at + keyLength);
    at += keyLength;
  }
  const valueLength = readSmallVarInt(buf, at, end, scratch);
  if (valueLength === undefined || valueLength < -1) return undefined;
  at = scratch.end;
  let value: Buffer | null = null;
  if (valueLength !== -1) {
    if (at + valueLength > end) return undefined;
    value = buf.slice(at, at + valueLength);
    at += valueLength;
  }
  const headerCount = readSmallVarInt(buf, at, end, scratch);
  if (headerCount === undefined || headerCount < -1) return undefined;
  at = scratch.end;
  const headers: Record<string, unknown> = {};
  for (let h = 0; h < headerCount; h++) {
    const nameLength = readSmallVarInt(buf, at, end, scratch);
    if (nameLength === undefined || nameLength < -1) return undefined;
    at = scratch.end;
    let name: string | null = null;
    if (nameLength !== -1) {
      if (at + nameLength > end) return undefined;
      name = headerName(buf, at, at + nameLength, scratch.names);
      at += nameLength;
    }
    const headerLength = readSmallVarInt(buf, at, end, scratch);
    if (headerLength === undefined || headerLength < -1) return undefined;
    at = scratch.end;
    let headerValue: Buffer | null = null;
    if (headerLength !== -1) {
      if (at + headerLength > end) return undefined;
      headerValue = buf.slice(at, at + headerLength);
      at += headerLength;
    }
    // kafkajs: reduce((obj, {key, value}) => ({...obj, [key]: obj[key] === undefined ? value :
    // Array.isArray(obj[key]) ? obj[key].concat([value]) : [obj[key], value]}), {})
    const property = String(name);
    const previous = headers[property];
    const next = previous === undefined
      ? headerValue
      : Array.isArray(previous)
      ? previous.concat([headerValue])
      : [previous, headerValue];
    if (property === "__proto__") {
      Object.defineProperty(headers, property, {
        value: next,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      headers[property] = next;
    }
  }
  // kafkajs reads no further and ignores trailing bytes; a record that does not end exactly
  // here is unusual enough to hand to kafkajs.
  if (at !== end) return undefined;
  return {
    magicByte: context.magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: context.isControlBatch,
    batchContext: context,
  };
}

/** A header name seen lately, as bytes and text: every record of a batch repeats the same few. */
interface RecentName {
  readonly bytes: Uint8Array;
  readonly name: string;
}

/** Per record batch: where the last varint ended, and the header names seen lately. */
interface Scratch {
  end: number;
  readonly names: RecentName[];
}
const RECENT_NAMES = 16;
const RECENT_NAME_MAX_BYTES = 64;

/** `buf.toString("utf8", at, end)`, without decoding again a name seen lately. */
function headerName(buf: Buffer, at: number, end: number, recentNames: RecentName[]): string {
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

/**
 * A zig-zag varint of at most 4 bytes (28 bits, where kafkajs' 32-bit arithmetic is exact)
 * within `[at, end)`; undefined otherwise. Sets `scratch.end` to where it stopped.
 */
function readSmallVarInt(
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
