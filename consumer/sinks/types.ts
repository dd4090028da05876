/**
 * The sink contract: where enriched orders become durable.
 *
 * One small interface, one file per implementation (`local.ts`, `cos.ts`, `batched.ts`). A sink
 * resolves `write()` only once the object is durable; the consumer shell commits an offset only
 * after that promise resolved (see `consumer/offsets.ts`).
 *
 * @module
 */

/** Where a record came from; layouts that group records (batched) key objects by it. */
export interface RecordPosition {
  readonly partition: number;
  /** Kafka offset as kafkajs gives it (decimal string). */
  readonly offset: string;
}

/** A durable destination for enriched orders. */
export interface Sink {
  /** Short name for logs and metrics (`local`, `cos`, `batched+local`...). */
  readonly name: string;
  /**
   * Writes `body` under `key` atomically (readers never see a partial object); resolves when
   * durable. Idempotent: writing the same key again replaces the object.
   */
  write(key: string, body: Uint8Array, position: RecordPosition): Promise<void>;
  /**
   * Removes the object at `key`; resolves when it is gone or was not there. The batched layout
   * uses it to drop versions of a segment that a greater version supersedes.
   */
  remove?(key: string): Promise<void>;
  /** Readiness: resolves when the sink accepts writes, rejects with the reason otherwise. */
  probe(): Promise<void>;
  /** Flushes what is buffered and releases resources. */
  close(): Promise<void>;
}

/**
 * A write failed; `retryable` says whether trying again may help (outage) or not (bad key).
 */
export class SinkWriteError extends Error {
  override name = "SinkWriteError";
  /** Object key the write was for. */
  readonly key: string;
  /** False when retrying cannot succeed (e.g. a key that escapes the sink root). */
  readonly retryable: boolean;
  /** Creates the error; `cause` is the underlying failure. */
  constructor(
    message: string,
    options: { key: string; retryable: boolean; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.key = options.key;
    this.retryable = options.retryable;
  }
}

const KEY_SEGMENT = /^[A-Za-z0-9_=.-]{1,128}$/;

/**
 * Validates an object key: relative, `/`-separated segments of `[A-Za-z0-9_=.-]`, no `.`/`..`
 * segments, at most 512 characters. Throws a non-retryable {@linkcode SinkWriteError} otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertSafeKey } from "./types.ts";
 * assertSafeKey("orders/dt=2026-11-26/orderId=ord-1.json");
 * assert.throws(() => assertSafeKey("orders/../../etc/passwd"));
 * ```
 */
export function assertSafeKey(key: string): void {
  const segments = key.split("/");
  const ok = key.length > 0 && key.length <= 512 &&
    segments.every((s) => KEY_SEGMENT.test(s) && s !== "." && s !== ".." && !s.startsWith(".."));
  if (!ok) {
    throw new SinkWriteError(
      `Cannot write key ${JSON.stringify(key.slice(0, 200))}: not a safe relative object key`,
      { key, retryable: false },
    );
  }
}
