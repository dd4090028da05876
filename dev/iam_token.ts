/**
 * The local IAM stand-in's access tokens: JWT-shaped (`header.claims.signature`, base64url),
 * signed with HMAC-SHA256 under a key only dev/iam.ts and dev/iam_front.ts read. Real IAM signs
 * with RS256; the shape matters to clients, the algorithm only to the local front.
 *
 * @module
 */

/** base64url without padding. */
export function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array {
  const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** Signs `claims` into a token. */
export async function signToken(claims: Record<string, unknown>, secret: string): Promise<string> {
  const enc = new TextEncoder();
  const head = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT", kid: "local" })));
  const body = b64url(enc.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    enc.encode(`${head}.${body}`),
  );
  return `${head}.${body}.${b64url(new Uint8Array(sig))}`;
}

/** Why a token was refused, or its expiry (seconds since the epoch) when it is good. */
export type TokenCheck =
  | { readonly ok: true; readonly exp: number }
  | { readonly ok: false; readonly reason: "malformed" | "unknown" | "expired" };

/**
 * Checks a token: signed under `secret` (else `unknown`) and `exp` after `nowS` (else `expired`).
 *
 * @example
 * ```ts
 * import { checkToken, signToken } from "./iam_token.ts";
 * import assert from "node:assert/strict";
 *
 * const t = await signToken({ exp: 2_000 }, "k");
 * assert.deepEqual(await checkToken(t, "k", 1_000), { ok: true, exp: 2_000 });
 * assert.deepEqual(await checkToken(t, "k", 2_000), { ok: false, reason: "expired" });
 * assert.deepEqual(await checkToken(t, "other", 1_000), { ok: false, reason: "unknown" });
 * ```
 */
export async function checkToken(token: string, secret: string, nowS: number): Promise<TokenCheck> {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed" };
  let sig: Uint8Array;
  let claims: { exp?: unknown };
  try {
    sig = fromB64url(parts[2]!);
    claims = JSON.parse(new TextDecoder().decode(fromB64url(parts[1]!)));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const good = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    sig as Uint8Array<ArrayBuffer>,
    new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
  );
  if (!good) return { ok: false, reason: "unknown" };
  if (typeof claims.exp !== "number") return { ok: false, reason: "malformed" };
  if (claims.exp <= nowS) return { ok: false, reason: "expired" };
  return { ok: true, exp: claims.exp };
}
