/**
 * Integration tests of the local infrastructure (`dev/kafka.sh`, `dev/s3.sh`): both Kafka
 * listeners deliver records, SASL rejects a wrong password, and the S3 server works with
 * ibm-cos-sdk in HMAC and IAM mode while the IAM endpoint rejects a wrong API key.
 */
import assert from "node:assert/strict";
import { type Kafka, logLevel, Partitioners } from "kafkajs";
import S3 from "ibm-cos-sdk/clients/s3.js";
import {
  createTopic,
  deleteTopic,
  plaintextKafka,
  requireEnv,
  s3Env,
  saslKafka,
  uniqueName,
} from "./_infra.ts";

const RECEIVE_TIMEOUT_MS = 30_000;

/** Produces one record to a fresh topic and reads it back with a fresh consumer group. */
async function roundTrip(kafka: Kafka, prefix: string): Promise<void> {
  const topic = uniqueName(prefix);
  const value = `hello ${topic}`;
  await createTopic(topic, 1);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: uniqueName(`${prefix}-group`) });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ key: "k1", value }] });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received = new Promise<{ key: string; value: string }>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`Cannot receive from ${topic}: nothing within ${RECEIVE_TIMEOUT_MS} ms`),
          ),
        RECEIVE_TIMEOUT_MS,
      );
      consumer.run({
        eachMessage: ({ message }) => {
          resolve({ key: String(message.key), value: String(message.value) });
          return Promise.resolve();
        },
      }).catch(reject);
    });
    assert.deepEqual(await received, { key: "k1", value });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
    await producer.disconnect();
    await deleteTopic(topic);
  }
}

Deno.test("plaintextKafka() produces and consumes a record on PLAINTEXT localhost:9092", async () => {
  await roundTrip(plaintextKafka(), "infra-plain");
});

Deno.test("saslKafka() produces and consumes a record on SASL_SSL localhost:9093", async () => {
  await roundTrip(saslKafka(), "infra-sasl");
});

Deno.test("saslKafka() with a wrong password fails with KafkaJSSASLAuthenticationError", async () => {
  const producer = saslKafka({
    password: "not-the-password",
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).producer();
  try {
    await assert.rejects(producer.connect(), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.name, "KafkaJSSASLAuthenticationError");
      assert.match(error.message, /Authentication failed/i);
      return true;
    });
  } finally {
    await producer.disconnect();
  }
});

Deno.test("saslKafka() without the generated CA fails the TLS handshake", async () => {
  const producer = saslKafka({ ca: [], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    .producer();
  try {
    await assert.rejects(producer.connect(), (error: unknown) => {
      assert.ok(error instanceof Error);
      // kafkajs wraps the TLS failure: KafkaJSNumberOfRetriesExceeded → KafkaJSConnectionError
      assert.match(error.message, /self-signed certificate/);
      return true;
    });
  } finally {
    await producer.disconnect();
  }
});

/** An ibm-cos-sdk client for the local S3 server, in HMAC or IAM mode. */
function cosClient(mode: "hmac" | "iam", apiKey?: string): S3 {
  const env = s3Env();
  if (mode === "hmac") {
    return new S3({
      endpoint: requireEnv(env, "COS_ENDPOINT"),
      s3ForcePathStyle: true,
      signatureVersion: "v4",
      region: "us-east-1",
      accessKeyId: requireEnv(env, "COS_HMAC_ACCESS_KEY_ID"),
      secretAccessKey: requireEnv(env, "COS_HMAC_SECRET_ACCESS_KEY"),
      maxRetries: 0,
    });
  }
  return new S3({
    endpoint: requireEnv(env, "COS_IAM_ENDPOINT"),
    s3ForcePathStyle: true,
    apiKeyId: apiKey ?? requireEnv(env, "COS_API_KEY"),
    serviceInstanceId: requireEnv(env, "COS_INSTANCE_ID"),
    ibmAuthEndpoint: requireEnv(env, "COS_AUTH_ENDPOINT"),
    maxRetries: 0,
  });
}

/** Writes, reads back, lists and deletes one object under a unique prefix. */
async function objectRoundTrip(s3: S3, prefix: string): Promise<void> {
  const bucket = requireEnv(s3Env(), "COS_BUCKET");
  const key = `${uniqueName(prefix)}/orderId=ord-1.json`;
  const body = JSON.stringify({ orderId: "ord-1", key });
  await s3.putObject({ Bucket: bucket, Key: key, Body: body, ContentType: "application/json" })
    .promise();
  try {
    const got = await s3.getObject({ Bucket: bucket, Key: key }).promise();
    assert.equal(String(got.Body), body);
    assert.equal(got.ContentType, "application/json");
    const listed = await s3.listObjectsV2({ Bucket: bucket, Prefix: key }).promise();
    assert.deepEqual(listed.Contents?.map((o) => o.Key), [key]);
  } finally {
    await s3.deleteObject({ Bucket: bucket, Key: key }).promise();
  }
  await assert.rejects(
    s3.headObject({ Bucket: bucket, Key: key }).promise(),
    (error: unknown) => (error as { code?: string }).code === "NotFound",
  );
}

Deno.test("s3Env() bucket accepts putObject/getObject via ibm-cos-sdk in HMAC mode", async () => {
  await objectRoundTrip(cosClient("hmac"), "infra-test-hmac");
});

Deno.test(
  "s3Env() bucket accepts putObject/getObject via ibm-cos-sdk in IAM mode",
  // The SDK arms an unref'd timer to refresh the token at 75% of its lifetime (45 min); it
  // cannot be cleared from outside, so the op sanitizer is off for this test only.
  { sanitizeOps: false },
  async () => {
    await objectRoundTrip(cosClient("iam"), "infra-test-iam");
  },
);

Deno.test("s3Env() IAM endpoint rejects a wrong API key and ibm-cos-sdk cannot write", async () => {
  const env = s3Env();
  const response = await fetch(requireEnv(env, "COS_AUTH_ENDPOINT"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "urn:ibm:params:oauth:grant-type:apikey",
      apikey: "wrong-api-key",
    }),
  });
  assert.equal(response.status, 400);
  const error = await response.json();
  assert.equal(error.errorCode, "BXNIM0415E");
  assert.equal(error.errorMessage, "Provided API key could not be found.");

  const s3 = cosClient("iam", "wrong-api-key");
  await assert.rejects(
    s3.putObject({ Bucket: requireEnv(env, "COS_BUCKET"), Key: uniqueName("infra-denied") })
      .promise(),
    (error: unknown) => {
      assert.equal((error as { code?: string }).code, "CredentialsError");
      return true;
    },
  );
});
