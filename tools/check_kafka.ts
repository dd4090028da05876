/**
 * The Kafka rows of `deno task check`: connect + auth, metadata, the orders and DLQ topics, the
 * consumer group coordinator.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { createKafka, describeKafkaError } from "../clients/kafka.ts";
import type { Settings } from "../config/settings.ts";
import type { CheckResult, Timed } from "./check_run.ts";

/** Adds the Kafka rows; later checks are skipped when Kafka cannot be reached. */
export async function checkKafka(
  settings: Settings,
  timeoutMs: number,
  timed: Timed,
  push: (row: CheckResult) => void,
): Promise<void> {
  const { kafka: ks, topics, consumer } = settings;
  const brokers = ks.brokers.join(",");
  const kafka = createKafka(ks, {
    clientId: `${ks.clientId}-check`,
    logLevel: settings.logLevel === "debug" ? "debug" : "none",
    connectionTimeout: Math.min(timeoutMs, 10_000),
    authenticationTimeout: Math.min(timeoutMs, 10_000),
    requestTimeout: timeoutMs,
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 },
  });
  const describe = (err: unknown) => describeKafkaError(err, ks);
  const admin: Admin = kafka.admin();
  try {
    const how = ks.securityProtocol === "SASL_SSL"
      ? `SASL_SSL as "${ks.sasl?.username ?? ""}"${ks.ca !== undefined ? ", custom CA" : ""}`
      : "PLAINTEXT";
    const connected = await timed("kafka.connect", brokers, async () => {
      await admin.connect();
      return `connected (${how})`;
    }, describe);
    const skipped = (check: string, target: string) =>
      push({
        check,
        target,
        status: "SKIP",
        detail: "skipped: cannot connect to Kafka",
        durationMs: 0,
      });
    if (!connected) {
      skipped("kafka.metadata", brokers);
      skipped("kafka.topic", topics.orders);
      skipped("kafka.topic", topics.dlq);
      skipped("kafka.group", consumer.groupId);
      return;
    }
    let existing = new Set<string>();
    await timed("kafka.metadata", brokers, async () => {
      const cluster = await admin.describeCluster();
      existing = new Set(await admin.listTopics());
      return `cluster ${cluster.clusterId}: ${cluster.brokers.length} broker(s), controller ${cluster.controller}, ${existing.size} topic(s)`;
    }, describe);
    for (const topic of [topics.orders, topics.dlq]) {
      await timed("kafka.topic", topic, async () => {
        if (!existing.has(topic)) {
          throw Object.assign(new Error(`topic "${topic}" not found`), {
            type: "UNKNOWN_TOPIC_OR_PARTITION",
          });
        }
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = meta.topics[0]?.partitions.length ?? 0;
        return `exists, ${partitions} partition(s)`;
      }, describe);
    }
    await timed("kafka.group", consumer.groupId, async () => {
      const { groups } = await describeGroupPatiently(admin, consumer.groupId);
      const group = groups[0];
      if (group === undefined) return "coordinator reachable";
      const state = group.state === "Dead" ? "no committed state yet" : `state ${group.state}`;
      return `coordinator reachable, ${state}, ${group.members.length} member(s)`;
    }, (err) => {
      const d = describe(err);
      return {
        message: `${d.message} (optional check)`,
        remedy: `${d.remedy}; the consumer needs the group coordinator to join the group`,
      };
    }, "WARN");
  } finally {
    await admin.disconnect();
  }
}

/**
 * `describeGroups`, retried while the broker answers with a retriable error: a fresh broker
 * answers NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE until `__consumer_offsets` exists. The
 * caller's timeout bounds the loop.
 */
async function describeGroupPatiently(
  admin: Admin,
  groupId: string,
): ReturnType<Admin["describeGroups"]> {
  for (let attempt = 1;; attempt++) {
    try {
      return await admin.describeGroups([groupId]);
    } catch (err) {
      const retriable = (err as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
