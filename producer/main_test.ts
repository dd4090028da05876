import assert from "node:assert/strict";
import { producerEnv } from "./main.ts";

Deno.test("producerEnv() drops consumer-only variables and keeps Kafka, topic and plugins settings", () => {
  const env = producerEnv({
    KAFKA_BROKERS: "b:9093",
    KAFKA_PASSWORD: "x",
    EVENT_STREAMS_CREDENTIALS: "{}",
    ORDERS_TOPIC: "o",
    DLQ_TOPIC: "d",
    LOG_LEVEL: "debug",
    SINK: "cos",
    SINK_DIR: "/x",
    COS_ENDPOINT: "e",
    HTTP_PORT: "99999",
    PLUGINS_DIR: "p",
    CONSUMER_GROUP: "g",
  });
  assert.deepEqual(Object.keys(env).sort(), [
    "DLQ_TOPIC",
    "EVENT_STREAMS_CREDENTIALS",
    "KAFKA_BROKERS",
    "KAFKA_PASSWORD",
    "LOG_LEVEL",
    "ORDERS_TOPIC",
    "PLUGINS_DIR",
  ]);
});
