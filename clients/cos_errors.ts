/**
 * Explains ibm-cos-sdk and IAM failures for CLIs: what failed (IAM unreachable or rejecting the
 * key, HMAC keys, bucket, access, TLS, network) and what to do about it, secrets redacted.
 *
 * @module
 */
import type { CosSettings } from "../config/settings.ts";
import { DENO_DENIED, errorChain, type ErrorLike, redactText } from "./_errors.ts";

/** What went wrong talking to COS, for a CLI: a one-line message and what to do about it. */
export interface CosErrorDescription {
  /** Short machine-readable class of the failure. */
  readonly kind:
    | "iam-unreachable"
    | "iam-rejected"
    | "credentials"
    | "no-such-bucket"
    | "access-denied"
    | "refused"
    | "dns"
    | "tls"
    | "timeout"
    | "permission"
    | "unknown";
  /** One line: what failed and the underlying detail (secrets redacted). */
  readonly message: string;
  /** What the user should do next. */
  readonly remedy: string;
}

/**
 * Explains an ibm-cos-sdk (or {@linkcode IamTokenError}) failure. The SDK reports every IAM
 * failure as "Missing credentials in config"; this looks at the wrapped `originalError` to say
 * whether IAM was unreachable or rejected the key. Pass `cos` to redact its secrets and name
 * the bucket and endpoint.
 *
 * @example
 * ```ts
 * import { describeCosError } from "./cos_errors.ts";
 * import assert from "node:assert/strict";
 *
 * const err = Object.assign(new Error("The specified bucket does not exist"), {
 *   code: "NoSuchBucket",
 *   statusCode: 404,
 * });
 * assert.equal(describeCosError(err).kind, "no-such-bucket");
 * ```
 */
export function describeCosError(err: unknown, cos?: CosSettings): CosErrorDescription {
  const secrets = cos === undefined
    ? []
    : cos.auth.kind === "iam"
    ? [cos.auth.apiKey]
    : [cos.auth.secretAccessKey];
  const chain = errorChain(err, { errorsOnly: false, first: "originalError" });
  const text = chain.map((e) => `${e.name} ${e.code ?? ""} ${e.message}`).join(" | ");
  const has = (re: RegExp) => re.test(text);
  const codes = chain.map((e) => e.code);
  const status = chain.find((e) => e.statusCode !== undefined)?.statusCode;
  const detail = redactText(joinMessages(chain) || (chain[0]?.code ?? String(err)), secrets);
  const bucket = cos?.bucket ?? "the bucket";
  const endpoint = cos?.endpoint ?? "COS_ENDPOINT";
  const authEndpoint = cos?.auth.kind === "iam" ? cos.auth.authEndpoint : "COS_AUTH_ENDPOINT";
  const describe = (
    kind: CosErrorDescription["kind"],
    what: string,
    remedy: string,
  ): CosErrorDescription => Object.freeze({ kind, message: `${what}: ${detail}`, remedy });

  if (chain.some((e) => e.name === "NotCapable" || e.name === "PermissionDenied")) {
    return describe("permission", DENO_DENIED.what, DENO_DENIED.remedy);
  }
  const iamFailure = chain.some((e) => e.name === "IamTokenError") ||
    has(/Missing credentials in config|Unable to get IAM token|TokenError|BXNIM/i);
  if (iamFailure) {
    if (
      chain.some((e) => e.name === "IamTokenError" && e.statusCode === undefined) ||
      has(/Cannot reach IAM|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|timed? ?out|socket hang up/i)
    ) {
      return describe(
        "iam-unreachable",
        "Cannot get an IAM token (IAM endpoint unreachable)",
        `check network access to ${authEndpoint} (COS_AUTH_ENDPOINT; default https://iam.cloud.ibm.com/identity/token), or use HMAC keys (COS_HMAC_ACCESS_KEY_ID / COS_HMAC_SECRET_ACCESS_KEY)`,
      );
    }
    if (!chain.some((e) => e.name === "IamTokenError")) {
      // The SDK drops IAM's answer: all it says is "Missing credentials in config".
      return Object.freeze(
        {
          kind: "iam-rejected",
          message:
            "Cannot get an IAM token: the COS SDK reported no cause (most often a wrong or deleted COS_API_KEY)",
          remedy:
            "check COS_API_KEY (the COS service credential's apikey) and COS_AUTH_ENDPOINT; `deno task check` asks IAM directly and prints its answer",
        } as const,
      );
    }
    return describe(
      "iam-rejected",
      "IAM rejected the COS API key",
      "set COS_API_KEY to the apikey of a current COS service credential (IBM Cloud → Object Storage → Service credentials); make sure COS_AUTH_ENDPOINT points at the IAM of the same account",
    );
  }
  if (codes.includes("InvalidAccessKeyId") || codes.includes("SignatureDoesNotMatch")) {
    return describe(
      "credentials",
      "COS rejected the HMAC keys",
      'set COS_HMAC_ACCESS_KEY_ID / COS_HMAC_SECRET_ACCESS_KEY from a service credential created with "Include HMAC Credential" (cos_hmac_keys)',
    );
  }
  if (codes.includes("NoSuchBucket") || (status === 404 && codes.includes("NotFound"))) {
    return describe(
      "no-such-bucket",
      `Bucket ${bucket} does not exist at ${endpoint}`,
      "create the bucket, or fix COS_BUCKET; the bucket must live in the region/endpoint named by COS_ENDPOINT",
    );
  }
  if (codes.includes("AccessDenied") || codes.includes("Forbidden") || status === 403) {
    return describe(
      "access-denied",
      `Access to bucket ${bucket} denied`,
      "give the service credential the Writer (or Manager) role on this bucket's COS instance, and check COS_INSTANCE_ID / the keys belong to that instance",
    );
  }
  if (has(/certificate|self[- ]signed|unable to verify|CERT_/i)) {
    return describe(
      "tls",
      `TLS certificate of ${endpoint} not trusted`,
      "use the public COS endpoint (https://s3.<region>.cloud-object-storage.appdomain.cloud), or http:// for a local S3 server",
    );
  }
  if (has(/ECONNREFUSED|Connection refused/i)) {
    return describe(
      "refused",
      `COS endpoint ${endpoint} refused the connection`,
      "start the local S3 server (`deno task s3`) or fix the host:port in COS_ENDPOINT",
    );
  }
  if (has(/ENOTFOUND|EAI_AGAIN|getaddrinfo|failed to lookup address/i)) {
    return describe(
      "dns",
      `COS endpoint ${endpoint} does not resolve`,
      "check COS_ENDPOINT for typos (IBM: https://s3.<region>.cloud-object-storage.appdomain.cloud)",
    );
  }
  if (has(/TimeoutError|timed? ?out|ETIMEDOUT|ECONNRESET|socket hang up/i)) {
    return describe(
      "timeout",
      `COS endpoint ${endpoint} did not answer in time`,
      "check network access to COS_ENDPOINT (firewall, VPN, private vs public endpoint)",
    );
  }
  return describe(
    "unknown",
    `COS request failed${status !== undefined ? ` (HTTP ${status})` : ""}`,
    "check COS_ENDPOINT, COS_BUCKET and the credentials",
  );
}

/** The distinct messages of a chain, minus the SDK's misleading generic ones, joined by ": ". */
function joinMessages(chain: readonly ErrorLike[]): string {
  const out: string[] = [];
  for (const { message } of chain) {
    if (
      message === "" ||
      /^Missing credentials in config|^Could not load credentials|^Inaccessible host/.test(message)
    ) continue;
    if (out.some((m) => m.includes(message))) continue;
    out.push(message);
  }
  return out.join(": ");
}
