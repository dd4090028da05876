import assert from "node:assert/strict";
import { createCosClient, describeCosError, IamTokenError, isIbmEndpoint } from "./cos.ts";
import type { CosSettings } from "../config/settings.ts";

const IAM: CosSettings = {
  endpoint: "https://s3.us-south.cloud-object-storage.appdomain.cloud",
  bucket: "orders",
  auth: {
    kind: "iam",
    apiKey: "iam-secret-key",
    serviceInstanceId: "crn:inst",
    authEndpoint: "https://iam.cloud.ibm.com/identity/token",
  },
};
const HMAC: CosSettings = {
  endpoint: "http://127.0.0.1:9000",
  bucket: "orderflow",
  region: "us-south",
  auth: { kind: "hmac", accessKeyId: "AKID", secretAccessKey: "hmac-secret" },
};

function sdkError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

Deno.test("isIbmEndpoint() recognises IBM COS hosts only", () => {
  assert.ok(isIbmEndpoint(IAM.endpoint));
  assert.ok(isIbmEndpoint("https://s3.private.eu-de.cloud-object-storage.appdomain.cloud"));
  assert.ok(!isIbmEndpoint("http://127.0.0.1:9000"));
  assert.ok(!isIbmEndpoint("not a url"));
});

Deno.test("createCosClient() configures IAM with virtual-hosted addressing for IBM", () => {
  const client = createCosClient(IAM);
  const config = client.config as typeof client.config & Record<string, unknown>;
  assert.equal(config.s3ForcePathStyle, false);
  assert.equal(config.signatureVersion, "iam");
  assert.equal(config.apiKeyId, "iam-secret-key");
  assert.equal(config.serviceInstanceId, "crn:inst");
  assert.equal(config.ibmAuthEndpoint, "https://iam.cloud.ibm.com/identity/token");
  assert.equal(config.maxRetries, 3);
});

Deno.test("createCosClient() configures HMAC v4 with path-style for other endpoints", () => {
  const client = createCosClient(HMAC, { maxRetries: 0, timeoutMs: 1234 });
  assert.equal(client.config.s3ForcePathStyle, true);
  assert.equal(client.config.signatureVersion, "v4");
  assert.equal(client.config.region, "us-south");
  assert.equal(client.config.maxRetries, 0);
  assert.equal(client.config.httpOptions?.timeout, 1234);
  assert.equal(client.config.credentials?.accessKeyId, "AKID");
});

Deno.test("describeCosError() unwraps 'Missing credentials in config' to the IAM cause", () => {
  const refused = sdkError("CredentialsError", "Missing credentials in config, if using ...", {
    originalError: sdkError("CredentialsError", "Could not load credentials from Credentials", {
      originalError: sdkError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:9001"),
    }),
  });
  const d = describeCosError(refused, IAM);
  assert.equal(d.kind, "iam-unreachable");
  assert.equal(
    d.message,
    "Cannot get an IAM token (IAM endpoint unreachable): " +
      "connect ECONNREFUSED 127.0.0.1:9001",
  );
  assert.match(d.remedy, /COS_AUTH_ENDPOINT/);

  const silent = sdkError("CredentialsError", "Missing credentials in config, if using ...");
  assert.equal(describeCosError(silent, IAM).kind, "iam-rejected");
  assert.match(describeCosError(silent, IAM).remedy, /COS_API_KEY/);
});

Deno.test("describeCosError() explains IamTokenError by whether IAM answered", () => {
  const rejected = new IamTokenError("IAM at x answered HTTP 400: BXNIM0415E not found", {
    status: 400,
  });
  assert.equal(describeCosError(rejected, IAM).kind, "iam-rejected");
  const unreachable = new IamTokenError("Cannot reach IAM at x: fetch failed");
  assert.equal(describeCosError(unreachable, IAM).kind, "iam-unreachable");
});

Deno.test("describeCosError() names the bucket for NoSuchBucket and AccessDenied", () => {
  const missing = describeCosError(sdkError("NotFound", "", { statusCode: 404 }), HMAC);
  assert.equal(missing.kind, "no-such-bucket");
  assert.match(missing.message, /Bucket orderflow does not exist at http:\/\/127\.0\.0\.1:9000/);
  assert.equal(describeCosError(sdkError("NoSuchBucket", "nope"), HMAC).kind, "no-such-bucket");
  const denied = describeCosError(sdkError("AccessDenied", "Access Denied"), HMAC);
  assert.equal(denied.kind, "access-denied");
  assert.match(denied.remedy, /Writer/);
  assert.equal(
    describeCosError(sdkError("SignatureDoesNotMatch", "sig"), HMAC).kind,
    "credentials",
  );
});

Deno.test("describeCosError() classifies network failures and redacts secrets", () => {
  assert.equal(
    describeCosError(sdkError("UnknownEndpoint", "x", {
      originalError: sdkError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:9000"),
    })).kind,
    "refused",
  );
  assert.equal(
    describeCosError(sdkError("UnknownEndpoint", "getaddrinfo ENOTFOUND nosuch")).kind,
    "dns",
  );
  assert.equal(describeCosError(sdkError("TimeoutError", "Connection timed out")).kind, "timeout");
  const d = describeCosError(new Error("boom hmac-secret"), HMAC);
  assert.equal(d.kind, "unknown");
  assert.ok(!d.message.includes("hmac-secret"));
});
