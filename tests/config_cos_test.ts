/**
 * Integration tests for clients/cos.ts against the local S3 server and IAM token endpoint
 * (`deno task s3`: S3Proxy on http://127.0.0.1:9000 for HMAC, the IAM front on :9002 for IAM,
 * IAM on http://127.0.0.1:9001/identity/token).
 */
import assert from "node:assert/strict";
import { createCosClient, describeCosError, fetchIamToken, IamTokenError } from "../clients/cos.ts";
import { type CosSettings, loadSettings } from "../config/settings.ts";
import { s3Env, uniqueName } from "./_infra.ts";

function cosSettings(overrides: Record<string, string> = {}): CosSettings {
  const env = s3Env();
  // IAM-mode clients talk to the IAM front; S3Proxy itself only takes S3 signatures.
  const endpoint = overrides.COS_AUTH === "iam" ? { COS_ENDPOINT: env.COS_IAM_ENDPOINT! } : {};
  const settings = loadSettings({ ...env, SINK: "cos", ...endpoint, ...overrides });
  if (settings.sink.kind !== "cos") throw new TypeError("expected a cos sink");
  return settings.sink.cos;
}

async function roundTrip(cos: CosSettings): Promise<void> {
  const client = createCosClient(cos, { maxRetries: 0 });
  const key = `${uniqueName("config-cos-test")}/probe.json`;
  const body = JSON.stringify({ orderId: "ord-1" });
  await client.putObject({ Bucket: cos.bucket, Key: key, Body: body }).promise();
  try {
    const got = await client.getObject({ Bucket: cos.bucket, Key: key }).promise();
    assert.equal(got.Body?.toString(), body);
  } finally {
    await client.deleteObject({ Bucket: cos.bucket, Key: key }).promise();
  }
  await assert.rejects(
    client.headObject({ Bucket: cos.bucket, Key: key }).promise(),
    (err: { statusCode?: number }) => err.statusCode === 404,
  );
}

Deno.test("createCosClient() writes, reads and deletes with HMAC keys", async () => {
  const cos = cosSettings({ COS_AUTH: "hmac" });
  assert.equal(cos.auth.kind, "hmac");
  await roundTrip(cos);
});

Deno.test("createCosClient() writes, reads and deletes with IAM (local token endpoint)", async () => {
  const cos = cosSettings({ COS_AUTH: "iam" });
  assert.equal(cos.auth.kind, "iam");
  await roundTrip(cos);
});

Deno.test("fetchIamToken() gets a token for the right key and a clear error for a wrong one", async () => {
  const cos = cosSettings({ COS_AUTH: "iam" });
  if (cos.auth.kind !== "iam") throw new TypeError("expected IAM");
  const { expiresAt } = await fetchIamToken(cos.auth);
  assert.ok(expiresAt !== undefined && expiresAt.getTime() > Date.now());

  const wrong = `wrong-${crypto.randomUUID()}`;
  const err = await fetchIamToken({ ...cos.auth, apiKey: wrong }).then(
    () => assert.fail("expected IAM to reject the key"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IamTokenError);
  assert.equal(err.status, 400);
  const d = describeCosError(err, cos);
  assert.equal(d.kind, "iam-rejected");
  assert.match(d.message, /BXNIM0415E/);
  assert.ok(!d.message.includes(wrong));
});

Deno.test("describeCosError() turns the SDK's 'Missing credentials' into the IAM cause", async () => {
  const wrongKey = cosSettings({ COS_AUTH: "iam", COS_API_KEY: `wrong-${crypto.randomUUID()}` });
  const rejected = await createCosClient(wrongKey, { maxRetries: 0 })
    .headBucket({ Bucket: wrongKey.bucket }).promise().then(
      () => assert.fail("expected a credentials error"),
      (e: unknown) => e,
    );
  assert.equal(describeCosError(rejected, wrongKey).kind, "iam-rejected");

  const unreachable = cosSettings({
    COS_AUTH: "iam",
    COS_AUTH_ENDPOINT: "http://127.0.0.1:9/identity/token",
  });
  const err = await createCosClient(unreachable, { maxRetries: 0 })
    .headBucket({ Bucket: unreachable.bucket }).promise().then(
      () => assert.fail("expected a credentials error"),
      (e: unknown) => e,
    );
  const d = describeCosError(err, unreachable);
  assert.equal(d.kind, "iam-unreachable");
  assert.match(d.message, /ECONNREFUSED 127\.0\.0\.1:9/);
});

Deno.test("describeCosError() names a missing bucket", async () => {
  const cos = cosSettings({ COS_AUTH: "hmac", COS_BUCKET: uniqueName("no-such-bucket") });
  const err = await createCosClient(cos, { maxRetries: 0 }).headBucket({ Bucket: cos.bucket })
    .promise().then(() => assert.fail("expected NotFound"), (e: unknown) => e);
  const d = describeCosError(err, cos);
  assert.equal(d.kind, "no-such-bucket");
  assert.ok(d.message.includes(cos.bucket));
});
