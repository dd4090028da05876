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
 * kafkajs' `decodeMessages`, so the rare cases keep kafkajs' exact behaviour. The readers for a
 * record's fields (varints, byte strings, header names) are in `_record_fields.ts`.
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
import {
  headerName,
  NULL,
  readBytes,
  readSmallVarInt,
  readSpan,
  type Scratch,
} from "./_record_fields.ts";

/** Marks kafkajs' response module as patched; the value is kafkajs' own `decode`. */
const INSTALLED = Symbol.for("orderflow.kafkajsPatches.fetchV11Decoder");
/** Where the magic byte sits in a record batch / message set. */
const MAGIC_OFFSET = 16;
const RECORD_BATCH_MAGIC = 2;
const RECORD_BATCH_OVERHEAD = 49;
/** The bits of a record batch's attributes kafkajs reads (its RecordBatch v0 decoder). */
const FLAG = Object.freeze({ logAppendTime: 0x8, transactional: 0x10, control: 0x20 });
/** The values of `BatchContext.timestampType`. */
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
    inTransaction: (attributes & FLAG.transactional) > 0,
    isControlBatch: (attributes & FLAG.control) > 0,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType: (attributes & FLAG.logAppendTime) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
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
  const scratch: Scratch = { end: 0, names: [] };
  for (let i = 0; i < count; i++) {
    // kafkajs: decoder.readVarIntBytes(), then RecordDecoder(new Decoder(slice)).
    const length = readVarInt(buf, at, scratch);
    at = scratch.end;
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

/**
 * kafkajs' `Decoder.readVarInt` at `at`: the bounded reader for the usual short varint, else
 * kafkajs' own (a longer one, or one running past the buffer). Sets `scratch.end` after it.
 */
function readVarInt(buf: Buffer, at: number, scratch: Scratch): number {
  const small = readSmallVarInt(buf, at, buf.length, scratch);
  if (small !== undefined) return small;
  const decoder = new KDecoder(buf);
  decoder.offset = at;
  const value = decoder.readVarInt();
  scratch.end = decoder.offset;
  return value;
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
  const key = readBytes(buf, at, end, scratch);
  if (key === undefined) return undefined;
  const value = readBytes(buf, scratch.end, end, scratch);
  if (value === undefined) return undefined;
  const headerCount = readSmallVarInt(buf, scratch.end, end, scratch);
  if (headerCount === undefined || headerCount < -1) return undefined;
  at = scratch.end;
  const headers: Record<string, unknown> = {};
  for (let h = 0; h < headerCount; h++) {
    const nameStart = readSpan(buf, at, end, scratch);
    if (nameStart === undefined) return undefined;
    const name = nameStart === NULL ? null : headerName(buf, nameStart, scratch.end, scratch.names);
    const headerValue = readBytes(buf, scratch.end, end, scratch);
    if (headerValue === undefined) return undefined;
    at = scratch.end;
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
