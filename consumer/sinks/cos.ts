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
import { type CosClient, describeCosError, renewIamToken } from "../../clients/cos.ts";
import { assertSafeKey, type RecordPosition, type Sink, SinkWriteError } from "./types.ts";

/** Options for {@linkcode CosSink}. */
export interface CosSinkOptions {
  /** A client from `createCosClient` (clients/cos.ts). */
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
  #renewedOnRefusal = 0;
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

  /**
   * Runs one request on `key` (with the prefix) in a concurrency slot; a failure becomes a
   * retryable {@linkcode SinkWriteError} that says what was attempted (`verb`) and why.
   */
  async #request(
    key: string,
    verb: string,
    send: (fullKey: string) => Promise<void>,
  ): Promise<void> {
    assertSafeKey(key);
    const fullKey = this.#prefix + key;
    const release = await this.#slot();
    try {
      await send(fullKey);
    } catch (error) {
      const described = describeCosError(error, this.#cos);
      throw new SinkWriteError(`Cannot ${verb} ${fullKey}: ${described.message}`, {
        key,
        retryable: true,
        cause: error,
      });
    } finally {
      release();
    }
  }

  /** PUTs `body` at `key` (ContentType application/json); resolves once COS acknowledged it. */
  write(key: string, body: Uint8Array, _position?: RecordPosition): Promise<void> {
    return this.#request(key, "put", async (fullKey) => {
      const put = () =>
        this.#client.putObject({
          Bucket: this.#cos.bucket,
          Key: fullKey,
          // The SDK wants a Buffer (a plain Uint8Array is taken for a stream).
          Body: Buffer.isBuffer(body)
            ? body
            : Buffer.from(body.buffer, body.byteOffset, body.length),
          ContentType: key.endsWith(".ndjson") ? "application/x-ndjson" : "application/json",
        }).promise();
      try {
        await put();
      } catch (error) {
        // COS answers an expired bearer token with 403 AccessDenied. The SDK renews tokens
        // before they expire by its own clock; one that expired anyway (a request delayed past
        // the expiry, a suspended process, clock skew) costs one renewal and one retry here,
        // not a failed write. A second 403 is a real refusal.
        if (
          this.#cos.auth.kind !== "iam" || (error as { statusCode?: unknown }).statusCode !== 403
        ) {
          throw error;
        }
        await renewIamToken(this.#client);
        this.#renewedOnRefusal++;
        await put();
      }
    });
  }

  /** DELETEs the object at `key` (S3 answers 204 whether or not it existed). */
  remove(key: string): Promise<void> {
    return this.#request(key, "delete", async (fullKey) => {
      await this.#client.deleteObject({ Bucket: this.#cos.bucket, Key: fullKey }).promise();
    });
  }

  /** Writes COS refused with 403 in IAM mode that succeeded after a token renewal. */
  get renewedOnRefusal(): number {
    return this.#renewedOnRefusal;
  }

  /** HEADs the bucket: resolves when it exists and the credentials work. */
  async probe(): Promise<void> {
    try {
      try {
        await this.#client.headBucket({ Bucket: this.#cos.bucket }).promise();
      } catch (error) {
        // A refused HEAD has no body, so no error code (a wrong HMAC secret and a missing role
        // both read "Forbidden"); the same request as a listing gets COS's coded answer.
        if ((error as { statusCode?: unknown }).statusCode !== 403) throw error;
        await this.#client.listObjectsV2({ Bucket: this.#cos.bucket, MaxKeys: 1 }).promise();
        throw error;
      }
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
