/**
 * Every use of kafkajs internals (files under `kafkajs/src/`) in the repository, typed as the
 * patches and their tests use them. These paths and shapes are kafkajs 2.2.4's; on a kafkajs
 * upgrade, re-read each source file named here before changing {@linkcode PATCHED_KAFKAJS_VERSION}.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { createRequire } from "node:module";

/** `require` relative to the package root of the kafkajs the `kafkajs` import resolves to. */
const requireFromKafkajs = createRequire(import.meta.resolve("kafkajs"));

/** kafkajs files that could not be loaded (another kafkajs version may have moved them). */
const unloadable: string[] = [];

/**
 * One kafkajs file, by its path in the package. Loaded with `require` rather than `import`, so a
 * file another kafkajs version moved turns the patches off instead of failing the process at
 * start-up; the require cache gives the same module objects kafkajs' own code uses.
 */
function load<T>(path: string): T {
  try {
    return requireFromKafkajs(path) as T;
  } catch (error) {
    unloadable.push(`${path} (${(error as Error).message.split("\n")[0]})`);
    return undefined as T;
  }
}

/** The kafkajs version the patches were written against (an exact match is required). */
export const PATCHED_KAFKAJS_VERSION = "2.2.4";

/** The version in the package.json of the kafkajs that the `kafkajs` import resolves to. */
export const kafkajsVersion: string = load<{ version?: string } | undefined>("./package.json")
  ?.version ?? "unknown";

/** kafkajs' `Encoder` instance, as the patches use it. */
export interface KafkaEncoder {
  buf: Uint8Array;
  offset: number;
  readonly buffer: Buffer;
  ensureAvailable(length: number): void;
  writeInt8(value: number): KafkaEncoder;
  writeInt16(value: number): KafkaEncoder;
  writeInt32(value: number): KafkaEncoder;
  writeInt64(value: number | bigint | string): KafkaEncoder;
  writeString(value: string | null): KafkaEncoder;
  writeBuffer(value: Uint8Array): KafkaEncoder;
  writeUVarInt(value: number): KafkaEncoder;
  writeVarInt(value: number): KafkaEncoder;
  writeVarLong(value: unknown): KafkaEncoder;
}

/** kafkajs' `Encoder` class. */
export interface KafkaEncoderClass {
  new (initialSize?: number): KafkaEncoder;
  prototype: KafkaEncoder;
  sizeOfVarLong(value: unknown): number;
  encodeZigZag(value: number): number;
}

/** kafkajs' `Decoder` instance. */
export interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): bigint;
  readVarInt(): number;
  readString(): string | null;
  readBytes(length?: number): Buffer | null;
  readAll(): Buffer;
  readArray<T>(reader: (d: KafkaDecoder) => T): T[];
  readArrayAsync<T>(reader: (d: KafkaDecoder) => Promise<T>): Promise<T[]>;
  canReadBytes(length: number): boolean;
  slice(size: number): KafkaDecoder;
  forward(size: number): void;
}

/** A kafkajs record-batch context, shared by the batch's messages. */
export interface BatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly partitionLeaderEpoch: number;
  readonly inTransaction: boolean;
  readonly isControlBatch: boolean;
  readonly lastOffsetDelta: number;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly maxTimestamp: string;
  readonly timestampType: number;
  readonly magicByte: number;
}

/** A decoded message, as kafkajs' record decoder returns it. */
export interface DecodedMessage {
  readonly magicByte: number;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, unknown>;
  readonly isControlRecord: boolean;
  readonly batchContext: BatchContext;
}

/** A Fetch response decoder (`response.decode` of a Fetch version). */
export type FetchDecode = (rawData: Buffer) => Promise<unknown>;

/** The module object of `requests/fetch/v11/response.js`: the connection reads `decode` on it. */
export interface FetchV11ResponseModule {
  decode: FetchDecode;
}

/** kafkajs' compression codec. */
export interface Codec {
  compress(encoder: KafkaEncoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** A request as kafkajs' broker builds it from `lookup(versions)(apiKey, definitions)`. */
export interface ProtocolRequest {
  readonly request: { encode(): Promise<KafkaEncoder> };
  readonly response: { decode: FetchDecode };
}

/** One message for kafkajs' Produce request. */
export interface ProduceMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers?: Record<string, Buffer>;
}

/** kafkajs' `Encoder` class (the one kafkajs' request encoders instantiate). */
export const Encoder = load<KafkaEncoderClass>("./src/protocol/encoder.js");
/** kafkajs' `Decoder` class. */
export const Decoder = load<new (buffer: Buffer | null) => KafkaDecoder>(
  "./src/protocol/decoder.js",
);
/** `requests/fetch/v11/response.js`, the Fetch response kafkajs decodes against Kafka >= 2.3. */
export const fetchV11Response = load<FetchV11ResponseModule>(
  "./src/protocol/requests/fetch/v11/response.js",
);
/** kafkajs' `decodeMessages` (Fetch v4+): record batches and legacy message sets. */
export const decodeMessages = load<(decoder: KafkaDecoder) => Promise<DecodedMessage[]>>(
  "./src/protocol/requests/fetch/v4/decodeMessages.js",
);
/** kafkajs' record decoder (one record of a record batch). */
export const decodeRecord = load<(decoder: KafkaDecoder, context: BatchContext) => DecodedMessage>(
  "./src/protocol/recordBatch/record/v0/decoder.js",
);
/** kafkajs' record encoder. */
export const encodeRecord = load<
  (record: {
    readonly offsetDelta: number;
    readonly timestampDelta: number;
    readonly key: Buffer | null;
    readonly value: Buffer | null;
    readonly headers?: Record<string, Buffer>;
  }) => KafkaEncoder
>("./src/protocol/recordBatch/record/v0/index.js");
/** kafkajs' record batch encoder. */
export const RecordBatch = load<
  {
    RecordBatch(options: {
      compression?: number;
      firstOffset?: bigint | string;
      firstTimestamp?: number;
      maxTimestamp?: number;
      lastOffsetDelta?: number;
      transactional?: boolean;
      producerId?: bigint | string;
      producerEpoch?: number;
      firstSequence?: number;
      records: readonly KafkaEncoder[];
    }): Promise<KafkaEncoder>;
  } | undefined
>("./src/protocol/recordBatch/v0/index.js")?.RecordBatch!;
/** kafkajs' compression registry (the same `Codecs` object kafkajs exports publicly). */
export const compression = load<{
  readonly Codecs: Record<number, unknown>;
  lookupCodecByAttributes(attributes: number): Codec | null;
}>("./src/protocol/message/compression/index.js");
/** kafkajs' request table and the `lookup` its broker uses to pick a request version. */
export const requests = load<{
  readonly requests: Readonly<Record<string, unknown>>;
  lookup(
    versions: Readonly<Record<number, { minVersion: number; maxVersion: number }>>,
  ): (
    apiKey: number,
    definitions: unknown,
  ) => (options: Record<string, unknown>) => ProtocolRequest;
}>("./src/protocol/requests/index.js");
/** kafkajs' API keys. */
export const apiKeys = load<{ readonly Produce: number; readonly Fetch: number }>(
  "./src/protocol/requests/apiKeys.js",
);
/** kafkajs' `KafkaJSPartialMessageError` (a record batch cut short by the fetch's maxBytes). */
export const KafkaJSPartialMessageError = load<
  { KafkaJSPartialMessageError: new (message: string) => Error } | undefined
>("./src/errors.js")?.KafkaJSPartialMessageError!;
/** kafkajs' consumer-side filter that drops the messages of aborted transactions. */
export const filterAbortedMessages = load<
  (options: {
    readonly messages: readonly DecodedMessage[];
    readonly abortedTransactions: readonly { producerId: string; firstOffset: string }[];
  }) => DecodedMessage[]
>("./src/consumer/filterAbortedMessages.js");

/**
 * The kafkajs files above that could not be loaded, or undefined when all were: the patches must
 * then stay off (the exports above are undefined for those files).
 */
export const kafkajsUnloadable: string | undefined = unloadable.length === 0
  ? undefined
  : unloadable.join("; ");
