/**
 * The local S3 server of `dev/s3.sh` behaves as the product relies on: S3Proxy checks signatures
 * (unsigned and wrongly signed requests are refused), serves concurrent requests, keeps objects
 * across a restart of its process, and its IAM front refuses bearer tokens COS would refuse.
 */
import assert from "node:assert/strict";
import { createCosClient, describeCosError } from "../clients/cos.ts";
import { signToken } from "../dev/iam_token.ts";
import { s3Env, uniqueName } from "./_infra.ts";
import {
  cleanup,
  consumerEnv,
  ConsumerProcess,
  localCos,
  produce,
  scenario,
  validOrders,
} from "./consumer_support.ts";
import { PrivateS3 } from "./s3_support.ts";

Deno.test("S3 server refuses unsigned requests and a wrong HMAC secret", async () => {
  const env = s3Env();
  const cos = localCos();
  if (cos.auth.kind !== "hmac") throw new TypeError("expected HMAC");
  const unsigned = await fetch(`${env.COS_ENDPOINT}/${env.COS_BUCKET}?list-type=2`);
  assert.equal(unsigned.status, 403, (await unsigned.text()).slice(0, 300));
  const put = await fetch(`${env.COS_ENDPOINT}/${env.COS_BUCKET}/${uniqueName("anon")}.json`, {
    method: "PUT",
    body: "{}",
  });
  assert.equal(put.status, 403, (await put.text()).slice(0, 300));

  const wrong = { ...cos, auth: { ...cos.auth, secretAccessKey: `wrong-${crypto.randomUUID()}` } };
  const err = await createCosClient(wrong, { maxRetries: 0 })
    .putObject({ Bucket: cos.bucket, Key: `${uniqueName("wrong-secret")}.json`, Body: "{}" })
    .promise().then(() => assert.fail("a wrong secret was accepted"), (e: unknown) => e);
  assert.equal((err as { statusCode?: number }).statusCode, 403);
  assert.equal((err as { code?: string }).code, "SignatureDoesNotMatch");
  assert.equal(describeCosError(err, wrong).kind, "credentials");
});

Deno.test("consume with a wrong HMAC secret stops at start with exit 2 and the HMAC remedy", async () => {
  const env = s3Env();
  const s = await scenario("wrong-secret", 1);
  const wrong = `wrong-${crypto.randomUUID()}`;
  try {
    await produce(s.topic, validOrders("ws", 3));
    const proc = new ConsumerProcess(
      consumerEnv(s, {
        SINK: "cos",
        COS_AUTH: "hmac",
        COS_ENDPOINT: env.COS_ENDPOINT!,
        COS_BUCKET: env.COS_BUCKET!,
        COS_HMAC_ACCESS_KEY_ID: env.COS_HMAC_ACCESS_KEY_ID!,
        COS_HMAC_SECRET_ACCESS_KEY: wrong,
        HTTP_PORT: "0",
      }),
      ["--summary-interval", "0"],
    );
    const code = await proc.exit(30_000);
    const log = proc.lines.join("\n");
    assert.equal(code, 2, log);
    assert.match(log, /Cannot start the consumer: COS rejected the HMAC keys/);
    assert.match(log, /Fix: set COS_HMAC_ACCESS_KEY_ID \/ COS_HMAC_SECRET_ACCESS_KEY/);
    assert.ok(!log.includes(wrong), "the secret is never printed");
    assert.doesNotMatch(log, /joined group/);
  } finally {
    await cleanup(s);
  }
});

Deno.test("S3 server serves 64 concurrent signed PUTs from ibm-cos-sdk (path style) intact", async () => {
  const cos = localCos();
  const client = createCosClient(cos, { maxRetries: 0 });
  const prefix = uniqueName("s3-concurrent");
  const keys = Array.from({ length: 64 }, (_, i) => `${prefix}/dt=2026-11-01/orderId=o ${i}.json`);
  try {
    await Promise.all(
      keys.map((Key, i) =>
        client.putObject({ Bucket: cos.bucket, Key, Body: JSON.stringify({ orderId: `o ${i}` }) })
          .promise()
      ),
    );
    const bodies = await Promise.all(
      keys.map((Key) => client.getObject({ Bucket: cos.bucket, Key }).promise()),
    );
    bodies.forEach((b, i) => assert.equal(JSON.parse(String(b.Body)).orderId, `o ${i}`));
  } finally {
    await Promise.all(
      keys.map((Key) => client.deleteObject({ Bucket: cos.bucket, Key }).promise()),
    );
  }
});

Deno.test("S3 server keeps objects across a restart of its process", async () => {
  const s3 = await PrivateS3.start();
  try {
    const key = "orders/dt=2026-11-01/orderId=kept-1.json";
    const put = await s3.fetch("PUT", "orderflow", key, {
      body: new TextEncoder().encode('{"orderId":"kept-1"}'),
    });
    assert.equal(put.status, 200, await put.text());
    await s3.down();
    await assert.rejects(fetch(s3.env.COS_ENDPOINT!), "the server process is stopped");
    await s3.up();
    assert.deepEqual(await s3.keys("orderflow", "orders/"), [key]);
    assert.equal(JSON.parse(await s3.object("orderflow", key)).orderId, "kept-1");
  } finally {
    await s3.destroy();
  }
});

Deno.test("IAM front refuses missing, unknown and expired tokens as COS does; forwards good ones", async () => {
  const s3 = await PrivateS3.start({ tokenLifetimeS: 2 });
  try {
    const front = s3.env.COS_IAM_ENDPOINT!;
    const token = async () => {
      const res = await fetch(s3.env.COS_AUTH_ENDPOINT!, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ibm:params:oauth:grant-type:apikey",
          apikey: s3.env.COS_API_KEY!,
        }),
      });
      assert.equal(res.status, 200);
      const json = await res.json();
      assert.equal(json.expires_in, 2);
      return json.access_token as string;
    };
    const put = (authorization?: string) =>
      fetch(`${front}/orderflow/orders/dt=2026-11-01/orderId=f%3D1.json`, {
        method: "PUT",
        body: '{"orderId":"f=1"}',
        headers: authorization === undefined ? {} : { authorization },
      });
    const refused = async (res: Response) => {
      assert.equal(res.status, 403);
      assert.match(res.headers.get("content-type") ?? "", /xml/);
      const xml = await res.text();
      assert.match(xml, /<Error><Code>AccessDenied<\/Code><Message>Access Denied<\/Message>/);
    };

    const good = await token();
    const ok = await put(`Bearer ${good}`);
    assert.equal(ok.status, 200, await ok.text());
    assert.equal(
      await s3.object("orderflow", "orders/dt=2026-11-01/orderId=f=1.json"),
      '{"orderId":"f=1"}',
    );
    await refused(await put());
    const forged = await signToken({ exp: Date.now() / 1000 + 3600 }, "not-the-key");
    await refused(await put(`Bearer ${forged}`));
    await new Promise((r) => setTimeout(r, 2_200));
    await refused(await put(`Bearer ${good}`));
    const stats = await (await fetch(`${front}/_front/stats`)).json();
    assert.deepEqual(stats.refused, { missing: 1, malformed: 0, unknown: 1, expired: 1 });
    assert.equal(stats.forwarded, 1);
  } finally {
    await s3.destroy();
  }
});
