/**
 * What `deno task produce` writes about a run: the `--deliveries` lines, the summary on stderr,
 * the `--json` summary, and why connecting failed.
 *
 * @module
 */
import { describeKafkaError } from "../clients/kafka.ts";
import type { KafkaSettings } from "../config/settings.ts";
import { installKafkajsPatches, patchReportJson } from "../kafkajs_patches/mod.ts";
import type { CliOptions } from "./cli.ts";
import { DEFAULT_HOLD_TOPIC } from "./edge.ts";
import type { ProduceSummary } from "./produce.ts";
import { type DeliveryReport, TopicNotFoundError } from "./publisher.ts";

/** One `--deliveries` line: the record's key (and line, topic, edge score) and its outcome. */
export function deliveryLine(report: DeliveryReport): string {
  const score = report.record.headers?.["risk.score"];
  const base = {
    key: report.record.key,
    ...(report.record.line === undefined ? {} : { line: report.record.line }),
    ...(report.topic === undefined ? {} : { topic: report.topic }),
    ...(score === undefined ? {} : { risk_score: Number(score) }),
  };
  return JSON.stringify(
    report.status === "acked"
      ? {
        status: "acked",
        ...base,
        partition: report.partition,
        offset: report.offset,
        latency_ms: Math.round(report.latencyMs * 100) / 100,
      }
      : { status: "failed", ...base, error: `${report.error.name}: ${report.error.message}` },
  );
}

/** Human summary for stderr. */
export function formatSummary(s: ProduceSummary, topic: string): string {
  const ms = (x: number | null) => (x === null ? "-" : `${x} ms`);
  return `produced to "${topic}" in ${(s.elapsedMs / 1000).toFixed(2)} s (${s.stoppedBy}): ` +
    `sent ${s.sent}, acked ${s.acked}, failed ${s.failed}, invalid ${s.invalid}; ` +
    `${s.throughput} acked/s; ack latency p50 ${ms(s.latencyMs.p50)}, p95 ${
      ms(s.latencyMs.p95)
    }, ` +
    `p99 ${ms(s.latencyMs.p99)}\n`;
}

/**
 * The `--json` summary. `connect_ms` (connect and topic check, before the first send) and
 * `close_ms` (disconnect after the last ack) are outside `elapsed_ms`; a benchmark that compares
 * with a tool whose clock includes them adds them.
 */
export function summaryJson(
  s: ProduceSummary,
  topic: string,
  cli: CliOptions,
  times: { connectMs: number; closeMs: number },
): Record<string, unknown> {
  return {
    topic,
    sent: s.sent,
    acked: s.acked,
    failed: s.failed,
    invalid: s.invalid,
    elapsed_ms: Math.round(s.elapsedMs),
    connect_ms: Math.round(times.connectMs),
    close_ms: Math.round(times.closeMs),
    throughput: s.throughput,
    ack_latency_ms: s.latencyMs,
    batches: s.batches,
    stopped_by: s.stoppedBy,
    idempotent: cli.idempotent,
    kafkajs_patches: patchReportJson(installKafkajsPatches()),
    ...(s.firstError === undefined ? {} : { error: s.firstError.message }),
  };
}

/** Collects output lines and writes them in chunks (stdout writes per record are slow). */
export class LineBuffer {
  readonly #write: (text: string) => void;
  #lines: string[] = [];
  #size = 0;
  /** `write` gets whole lines, about 64 KiB at a time. */
  constructor(write: (text: string) => void) {
    this.#write = write;
  }
  /** Adds one line (without its newline). */
  push(line: string): void {
    this.#lines.push(line);
    this.#size += line.length + 1;
    if (this.#size >= 64 * 1024) this.flush();
  }
  /** Writes what is buffered. */
  flush(): void {
    if (this.#lines.length === 0) return;
    this.#write(this.#lines.join("\n") + "\n");
    this.#lines = [];
    this.#size = 0;
  }
}

/**
 * Why connecting (or checking a topic) failed, with the remedy, for stderr: a missing hold
 * topic, a missing topic, or Kafka itself.
 */
export function connectFailureText(
  error: unknown,
  cli: CliOptions,
  topic: string,
  kafka: KafkaSettings,
  seconds: string,
): string {
  if (
    error instanceof TopicNotFoundError && error.topic === cli.holdTopic && topic !== cli.holdTopic
  ) {
    return `error: ${error.message} (--hold-topic: where orders scoring above ${cli.holdAbove} go)\n` +
      `Create it (locally: bash dev/kafka.sh start creates "${DEFAULT_HOLD_TOPIC}"), ` +
      `or choose another with --hold-topic.\n`;
  }
  if (error instanceof TopicNotFoundError) {
    return `error: ${error.message}\nCreate it (locally: bash dev/kafka.sh start creates "orders"), ` +
      `or choose another with --topic / ORDERS_TOPIC.\n`;
  }
  const d = describeKafkaError(error, kafka);
  return `error: Cannot connect to Kafka at ${kafka.brokers.join(",")} ` +
    `(${kafka.securityProtocol}) after ${seconds} s: ${d.message}\n${d.remedy}\n`;
}
