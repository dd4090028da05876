/**
 * Builds IBM Cloud Object Storage clients (ibm-cos-sdk `S3`) from {@linkcode CosSettings} —
 * IAM (API key → bearer token) or HMAC (S3 signature v4). Their errors are explained by
 * `cos_errors.ts` (re-exported here).
 *
 * @module
 */
import S3 from "ibm-cos-sdk/clients/s3.js";
import type { CosIamAuth, CosSettings } from "../config/settings.ts";
import { redactText } from "./_errors.ts";

export { type CosErrorDescription, describeCosError } from "./cos_errors.ts";

/** The ibm-cos-sdk S3 client type. */
export type CosClient = S3;

/** Options for {@linkcode createCosClient}. */
export interface CreateCosClientOptions {
  /** TCP connect timeout in ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Socket inactivity timeout per request in ms. Default 30000. */
  readonly timeoutMs?: number;
  /** SDK retries for retryable failures (5xx, throttling, network). Default 3. */
  readonly maxRetries?: number;
}

/** Region the SDK signs with when `COS_REGION` is unset (IBM COS ignores it for HMAC). */
const DEFAULT_REGION = "us-east-1";

/**
 * Creates an ibm-cos-sdk `S3` client for `cos`. IAM auth uses `apiKeyId`, `serviceInstanceId`
 * and `ibmAuthEndpoint` (the SDK fetches and refreshes the bearer token itself); HMAC auth uses
 * `accessKeyId`/`secretAccessKey` with signature v4. Non-IBM endpoints (a local S3 server) get
 * path-style addressing. Creating the client opens no connection.
 *
 * @example
 * ```ts
 * import { createCosClient } from "./cos.ts";
 * import assert from "node:assert/strict";
 *
 * const client = createCosClient({
 *   endpoint: "http://127.0.0.1:9000",
 *   bucket: "orderflow",
 *   auth: { kind: "hmac", accessKeyId: "id", secretAccessKey: "secret" },
 * });
 * assert.equal(client.config.s3ForcePathStyle, true);
 * ```
 */
export function createCosClient(cos: CosSettings, options: CreateCosClientOptions = {}): CosClient {
  const common = {
    endpoint: cos.endpoint,
    region: cos.region ?? DEFAULT_REGION,
    s3ForcePathStyle: !isIbmEndpoint(cos.endpoint),
    maxRetries: options.maxRetries ?? 3,
    httpOptions: {
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      timeout: options.timeoutMs ?? 30_000,
    },
  };
  if (cos.auth.kind === "iam") {
    const client = new S3({
      ...common,
      apiKeyId: cos.auth.apiKey,
      serviceInstanceId: cos.auth.serviceInstanceId,
      ibmAuthEndpoint: cos.auth.authEndpoint,
      signatureVersion: "iam",
    });
    relativeRefreshWindow(client.config.credentials as unknown as IamCredentials);
    return client;
  }
  return new S3({
    ...common,
    accessKeyId: cos.auth.accessKeyId,
    secretAccessKey: cos.auth.secretAccessKey,
    signatureVersion: "v4",
  });
}

/** The parts of ibm-cos-sdk's IAM credentials object this module touches. */
interface IamCredentials {
  needsRefresh(): boolean;
  tokenManager?: {
    token?: { expiration?: Date };
    refreshToken(
      options: null,
      forceRenew: boolean | null,
      callback: (err: unknown) => void,
    ): unknown;
  };
}

/**
 * Makes the SDK renew an IAM token when less than a quarter of its lifetime (at most 15 s) is
 * left, instead of its fixed 15 s. ibm-cos-sdk 1.15.1 loses the caller's callback when a token is
 * still inside the renewal window right after it was renewed (its token manager calls back, the
 * request asks again at once and its second callback is dropped): the request never completes.
 * That happens with tokens shorter than the window, and to every request when a renewal comes
 * late. Its own timer still renews at 75% of the lifetime; this only moves the on-demand check.
 */
function relativeRefreshWindow(credentials: IamCredentials): void {
  let seen: { readonly token: object; readonly lifetimeMs: number } | undefined;
  credentials.needsRefresh = function (this: IamCredentials): boolean {
    const token = this.tokenManager?.token;
    if (token?.expiration === undefined) return true;
    const expires = token.expiration.getTime();
    if (seen?.token !== token) seen = { token, lifetimeMs: Math.max(0, expires - Date.now()) };
    return Date.now() > expires - Math.min(15_000, seen.lifetimeMs / 4);
  };
}

/**
 * Gets a new IAM token for `client` now, even if the current one looks valid by the client's
 * clock: for a request COS refused with 403 (an expired token, e.g. across a suspend or clock
 * skew). Resolves false for an HMAC client (nothing to renew). Rejects after `timeoutMs` (default
 * 15 s) without an answer: the SDK's token manager can drop a callback (see above), and a write
 * waiting on it must fail and be retried rather than wait forever.
 */
export function renewIamToken(client: CosClient, timeoutMs = 15_000): Promise<boolean> {
  const credentials = client.config.credentials as unknown as IamCredentials | null;
  const manager = credentials?.tokenManager;
  if (manager === undefined) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Cannot renew the IAM token: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    manager.refreshToken(null, true, (err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(true);
    });
  });
}

/** True for IBM Cloud Object Storage endpoints (virtual-hosted addressing works there). */
export function isIbmEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  return host.endsWith(".appdomain.cloud") || host.endsWith(".softlayer.net");
}

/** Thrown by {@linkcode fetchIamToken} when IBM IAM does not issue a token. */
export class IamTokenError extends Error {
  override name = "IamTokenError";
  /** HTTP status IAM answered with; absent when it could not be reached. */
  readonly status?: number;

  /** Creates the error; `status` is the HTTP status when IAM answered. */
  constructor(message: string, options: ErrorOptions & { status?: number } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    if (options.status !== undefined) this.status = options.status;
  }
}

/**
 * Exchanges the IAM API key for a bearer token at `auth.authEndpoint` (what the SDK does before
 * its first request), so a CLI can report an IAM failure as such instead of the SDK's
 * "Missing credentials in config". Resolves with the token's expiry; the token itself is not
 * returned. Rejects with {@linkcode IamTokenError} (never containing the API key).
 */
export async function fetchIamToken(
  auth: CosIamAuth,
  options: { readonly timeoutMs?: number } = {},
): Promise<{ readonly expiresAt: Date | undefined }> {
  const body = new URLSearchParams({
    grant_type: "urn:ibm:params:oauth:grant-type:apikey",
    apikey: auth.apiKey,
    response_type: "cloud_iam",
  });
  let response: Response;
  try {
    response = await fetch(auth.authEndpoint, {
      method: "POST",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "Basic Yng6Yng=", // "bx:bx", as the SDK sends
      },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new IamTokenError(
      `Cannot reach IAM at ${auth.authEndpoint}: ${
        redactText(err instanceof Error ? err.message : String(err), [auth.apiKey])
      }`,
      { cause: err },
    );
  }
  const text = await response.text();
  if (!response.ok) {
    let reason = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { errorMessage?: unknown; errorCode?: unknown };
      if (typeof parsed.errorMessage === "string") {
        reason = `${parsed.errorCode ?? ""} ${parsed.errorMessage}`.trim();
      }
    } catch {
      // Not JSON: keep the start of the body as the reason.
    }
    throw new IamTokenError(
      `IAM at ${auth.authEndpoint} answered HTTP ${response.status}: ${
        redactText(reason, [auth.apiKey]) || response.statusText
      }`,
      { status: response.status },
    );
  }
  let token: { access_token?: unknown; expiration?: unknown };
  try {
    token = JSON.parse(text);
  } catch (err) {
    throw new IamTokenError(`IAM answered without a JSON token from ${auth.authEndpoint}`, {
      cause: err,
      status: response.status,
    });
  }
  if (typeof token.access_token !== "string" || token.access_token === "") {
    throw new IamTokenError(`IAM answered without an access_token from ${auth.authEndpoint}`, {
      status: response.status,
    });
  }
  return Object.freeze({
    expiresAt: typeof token.expiration === "number" ? new Date(token.expiration * 1000) : undefined,
  });
}
