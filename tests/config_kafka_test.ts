/**
 * Integration tests for clients/kafka.ts against the real local broker
 * (`deno task kafka`: PLAINTEXT localhost:9092, SASL_SSL localhost:9093).
 */
import assert from "node:assert/strict";
import { CompressionTypes, type KafkaMessage, Partitioners } from "kafkajs";
import {
  createKafka,
  describeKafkaError,
  silenceTimeoutNegativeWarning,
} from "../clients/kafka.ts";
import { loadSettings } from "../config/settings.ts";
import { createTopic, deleteTopic, saslEnv, uniqueName } from "./_infra.ts";

// _infra.ts builds its own kafkajs clients (createTopic); keep their harmless warning quiet too.
silenceTimeoutNegativeWarning();

const FAST = {
  connectionTimeout: 3_000,
  requestTimeout: 5_000,
  retry: { retries: 0 },
} as const;

async function adminError(
  env: Record<string, string>,
  logs: string[] = [],
): Promise<unknown> {
  const settings = loadSettings(env);
  const admin = createKafka(settings.kafka, {
    ...FAST,
    logLevel: "debug",
    log: (line) => logs.push(line),
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await admin.disconnect();
  }
}

Deno.test("createKafka() round-trips a snappy-compressed message over PLAINTEXT", async () => {
  const topic = uniqueName("config-snappy");
  await createTopic(topic, 1);
  const kafka = createKafka(loadSettings({}).kafka, { clientId: "config-test", ...FAST });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: uniqueName("config-snappy-group") });
  try {
    await producer.connect();
    const value = JSON.stringify({ orderId: "ord-1", pad: "x".repeat(2_000) });
    await producer.send({
      topic,
      compression: CompressionTypes.Snappy,
      messages: [{ key: "ord-1", value }],
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<KafkaMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no message within 20 s")), 20_000);
      consumer.run({
        eachMessage: ({ message }) => {
          clearTimeout(timer);
          resolve(message);
          return Promise.resolve();
        },
      }).catch(reject);
    });
    assert.equal(received.key?.toString(), "ord-1");
    assert.equal(received.value?.toString(), value);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await deleteTopic(topic);
  }
});

Deno.test("createKafka() connects over SASL_SSL with the generated CA", async () => {
  const topic = uniqueName("config-sasl");
  await createTopic(topic, 2);
  const kafka = createKafka(loadSettings(saslEnv()).kafka, { ...FAST });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const admin = kafka.admin();
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ key: "a", value: "1" }, { key: "b", value: "2" }] });
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets.length, 2);
    assert.equal(offsets.reduce((sum, p) => sum + Number(p.high), 0), 2);
  } finally {
    await admin.disconnect();
    await producer.disconnect();
    await deleteTopic(topic);
  }
});

Deno.test("createKafka() with a wrong password fails authentication and never logs it", async () => {
  const wrong = `wrong-${crypto.randomUUID()}`;
  const logs: string[] = [];
  const err = await adminError({ ...saslEnv(), KAFKA_PASSWORD: wrong }, logs);
  assert.ok(err instanceof Error);
  assert.equal(err.name, "KafkaJSSASLAuthenticationError");
  const description = describeKafkaError(err);
  assert.equal(description.kind, "authentication");
  assert.ok(logs.length > 0, "debug logging produced lines");
  assert.ok(logs.every((line) => !line.includes(wrong)));
});

Deno.test("describeKafkaError() explains a PLAINTEXT client on the SASL_SSL port", async () => {
  const settings = loadSettings({ KAFKA_BROKERS: "localhost:9093" });
  const err = await adminError({ KAFKA_BROKERS: "localhost:9093" });
  assert.ok(err instanceof Error);
  const d = describeKafkaError(err, settings.kafka);
  assert.equal(d.kind, "protocol-mismatch");
  assert.match(d.remedy, /KAFKA_SECURITY_PROTOCOL=SASL_SSL/);
});

Deno.test("describeKafkaError() explains an untrusted certificate when KAFKA_CA_FILE is unset", async () => {
  const { KAFKA_CA_FILE: _, ...withoutCa } = saslEnv();
  const err = await adminError(withoutCa);
  assert.equal(describeKafkaError(err).kind, "tls");
});

Deno.test("describeKafkaError() explains a SASL_SSL client on the PLAINTEXT port", async () => {
  const err = await adminError({ ...saslEnv(), KAFKA_BROKERS: "localhost:9092" });
  assert.equal(describeKafkaError(err).kind, "protocol-mismatch");
});
