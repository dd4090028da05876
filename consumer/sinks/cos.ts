/**
 * IBM Cloud Object Storage sink (any S3-compatible endpoint): one `putObject` per key.
 *
 * A PUT is atomic (readers see the old object or the new one) and durable once COS answered 200;
 * the same key is overwritten on replay. Retries are the consumer shell's (capped backoff with
 * pause); the SDK's own retries are kept low so an outage surfaces quickly.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { CosSettings } from "../../config/settings.ts";
import { type CosClient, describeCosError } from "../../config/cos.ts";
import { assertSafeKey, type RecordPosition, type Sink, SinkWriteError } from "./types.ts";

/** Options for {@linkcode CosSink}. */
export interface CosSinkOptions {
  /** A client from `createCosClient` (config/cos.ts). */
  readonly client: CosClient;
  /** Bucket and endpoint; also used to redact secrets in error messages. */
  readonly cos: CosSettings;
  /** Concurrent PUTs at most (default 32). */
  readonly concurrency?: number;
  /** Optional prefix prepended to every key (`tenant/`), must itself be a safe key. */
  readonly prefix?: string;
}

/** Writes objects to a COS bucket. */
export class CosSink implements Sink {
  readonly name = "cos";
  readonly #client: CosClient;
  readonly #cos: CosSettings;
  readonly #limit: number;
  readonly #prefix: string;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  /** Creates the sink; no request is made until the first write or probe. */
  constructor(options: CosSinkOptions) {
    this.#client = options.client;
    this.#cos = options.cos;
    this.#limit = options.concurrency ?? 32;
    if (!Number.isInteger(this.#limit) || this.#limit < 1) {
      throw new RangeError(`Cannot create COS sink: concurrency ${this.#limit} is not >= 1`);
    }
    this.#prefix = options.prefix ?? "";
    if (this.#prefix !== "") assertSafeKey(this.#prefix.replace(/\/$/, ""));
  }

  async #slot(): Promise<() => void> {
    if (this.#active >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#active++;
    return () => {
      this.#active--;
      this.#waiting.shift()?.();
    };
  }

  /** PUTs `body` at `key` (ContentType application/json); resolves once COS acknowledged it. */
  async write(key: string, body: Uint8Array, _position?: RecordPosition): Promise<void> {
    assertSafeKey(key);
    const fullKey = this.#prefix + key;
    const release = await this.#slot();
    try {
      await this.#client.putObject({
        Bucket: this.#cos.bucket,
        Key: fullKey,
        // The SDK wants a Buffer (a plain Uint8Array is taken for a stream).
        Body: Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length),
        ContentType: key.endsWith(".ndjson") ? "application/x-ndjson" : "application/json",
      }).promise();
    } catch (error) {
      const described = describeCosError(error, this.#cos);
      throw new SinkWriteError(`Cannot put ${fullKey}: ${described.message}`, {
        key,
        retryable: true,
        cause: error,
      });
    } finally {
      release();
    }
  }

  /** DELETEs the object at `key` (S3 answers 204 whether or not it existed). */
  async remove(key: string): Promise<void> {
    assertSafeKey(key);
    const fullKey = this.#prefix + key;
    const release = await this.#slot();
    try {
      await this.#client.deleteObject({ Bucket: this.#cos.bucket, Key: fullKey }).promise();
    } catch (error) {
      const described = describeCosError(error, this.#cos);
      throw new SinkWriteError(`Cannot delete ${fullKey}: ${described.message}`, {
        key,
        retryable: true,
        cause: error,
      });
    } finally {
      release();
    }
  }

  /** HEADs the bucket: resolves when it exists and the credentials work. */
  async probe(): Promise<void> {
    try {
      await this.#client.headBucket({ Bucket: this.#cos.bucket }).promise();
    } catch (error) {
      const described = describeCosError(error, this.#cos);
      throw new SinkWriteError(
        `Cannot reach bucket ${this.#cos.bucket}: ${described.message}\n${described.remedy}`,
        { key: "", retryable: true, cause: error },
      );
    }
  }

  /** Nothing buffered. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
