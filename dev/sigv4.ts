/**
 * AWS signature version 4 for S3 requests (header form, path-style), for the dev tools that talk
 * to the local S3 server without the SDK: the IAM front (dev/iam_front.ts) re-signs requests it
 * accepted, and tests list buckets with plain `fetch`.
 *
 * The path is signed as sent: {@linkcode s3Path} encodes a bucket and key the way S3 expects
 * (every byte except `A-Za-z0-9-._~` percent-encoded, `/` kept between key segments), and the
 * same string goes on the wire, so signer and server agree on the canonical URI.
 *
 * @module
 */

/** An HMAC key pair. */
export interface HmacKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Lower-case hex SHA-256 of `data`. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

async function hmac(key: Uint8Array | string, data: string): Promise<ArrayBuffer> {
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const k = await crypto.subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", k, encoder.encode(data));
}

/**
 * RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else `%XX`
 * (upper-case hex); `/` kept when `keepSlash`.
 *
 * @example
 * ```ts
 * import { uriEncode } from "./sigv4.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(uriEncode("dt=2026-11-01/a b", true), "dt%3D2026-11-01/a%20b");
 * ```
 */
export function uriEncode(text: string, keepSlash = false): string {
  let out = "";
  for (const byte of encoder.encode(text)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The encoded path-style request path of `bucket` and optional `key`: `/bucket/k%3Dey`. */
export function s3Path(bucket: string, key?: string): string {
  return `/${uriEncode(bucket)}${key === undefined ? "" : `/${uriEncode(key, true)}`}`;
}

/** Re-encodes a raw request path segment by segment (decode, then {@linkcode uriEncode}). */
export function canonicalPath(rawPath: string): string {
  return rawPath.split("/").map((segment) => uriEncode(decodeURIComponent(segment))).join("/");
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** What {@linkcode signS3Request} needs to know about a request. */
export interface SignInput {
  readonly method: string;
  /** Full URL; its path must already be encoded as {@linkcode canonicalPath} would. */
  readonly url: URL;
  /** Headers to send and sign besides host, x-amz-date and x-amz-content-sha256. */
  readonly headers?: Headers;
  /** Request body (empty when absent). */
  readonly body?: Uint8Array;
  readonly keys: HmacKeys;
  /** Default `us-east-1`. */
  readonly region?: string;
  /** Signing time (default now). */
  readonly now?: Date;
}

/**
 * Returns the headers to send with a SigV4-signed S3 request: the given ones plus
 * `x-amz-date`, `x-amz-content-sha256` (the body's hash) and `authorization`.
 */
export async function signS3Request(input: SignInput): Promise<Headers> {
  const region = input.region ?? "us-east-1";
  const now = input.now ?? new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers = new Headers(input.headers);
  const payloadHash = await sha256Hex(input.body ?? new Uint8Array());
  headers.set("x-amz-date", amzDate);
  headers.set("x-amz-content-sha256", payloadHash);
  const signed = new Map<string, string>([["host", input.url.host]]);
  for (const [name, value] of headers) signed.set(name.toLowerCase(), value.trim());
  const names = [...signed.keys()].sort();
  const canonical = [
    input.method.toUpperCase(),
    input.url.pathname,
    canonicalQuery(input.url.searchParams),
    names.map((n) => `${n}:${signed.get(n)!.replace(/\s+/g, " ")}\n`).join(""),
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonical)].join("\n");
  let key = await hmac(`AWS4${input.keys.secretAccessKey}`, day);
  for (const part of [region, "s3", "aws4_request"]) key = await hmac(new Uint8Array(key), part);
  const signature = hex(await hmac(new Uint8Array(key), toSign));
  headers.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${input.keys.accessKeyId}/${scope}, SignedHeaders=${
      names.join(";")
    }, Signature=${signature}`,
  );
  return headers;
}

/**
 * A signed `fetch` to an S3 endpoint: `path` as from {@linkcode s3Path}, optional query and body.
 *
 * @example
 * ```ts ignore
 * const res = await s3Fetch("http://127.0.0.1:9000", keys, "GET", s3Path("orderflow"), {
 *   query: { "list-type": "2", prefix: "orders/" },
 * });
 * ```
 */
export async function s3Fetch(
  endpoint: string,
  keys: HmacKeys,
  method: string,
  path: string,
  options: {
    readonly query?: Record<string, string>;
    readonly body?: Uint8Array;
    readonly headers?: Headers;
    readonly signal?: AbortSignal;
  } = {},
): Promise<Response> {
  const url = new URL(endpoint.replace(/\/$/, "") + path);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const headers = await signS3Request({
    method,
    url,
    keys,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return fetch(url, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: options.body as Uint8Array<ArrayBuffer> }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
