/**
 * `deno task dlq`: inspect the dead-letter topic (`stats`, `show`) and send its records back to
 * `ORDERS_TOPIC` after a fix (`redrive`). Exit codes: 0 done, 1 failure, 2 usage or settings.
 *
 * @module
 */
import { onStopSignals, writeAllSync } from "../cli/process_io.ts";
import { EXIT, runTask, settingsOrUsage, SIGNAL_EXIT } from "../cli/usage.ts";
import type { Admin, Kafka } from "kafkajs";
import { createKafka, describeKafkaError } from "../clients/kafka.ts";
import { loadSettings, type Settings } from "../config/settings.ts";
import { type DlqCommand, HELP, parseCli } from "./cli.ts";
import { LedgerError } from "./ledger.ts";
import { type DeadLetter, matches } from "./record.ts";
import { ReadStalledError, remaining, scanTopic, topicRanges } from "./reader.ts";
import {
  formatRedrive,
  redrive,
  RedriveBusyError,
  type RedriveCounts,
  SendTimeoutError,
} from "./redrive.ts";
import { formatRecord, recordJson } from "./show.ts";
import { DlqStats, formatStats } from "./stats.ts";
import { DLQ_DEFAULTS } from "./cli.ts";

/** Where the CLI reads and writes; the real process by default. */
export interface MainIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Registers SIGINT/SIGTERM; returns an unregister function. */
  readonly onSignal: (handler: (signal: "SIGINT" | "SIGTERM") => void) => () => void;
}

/** A failure explained to the user: message ("Cannot X: why"), remedy, exit code. */
class DlqError extends Error {
  override name = "DlqError";
  /** `jsonPrinted`: the JSON output (with the error) is already on stdout. */
  constructor(
    message: string,
    readonly remedy: string,
    readonly code: number = EXIT.failure,
    readonly jsonPrinted = false,
  ) {
    super(message);
  }
}

/** Sink, HTTP and plugin variables are the consumer's: a broken one must not stop this tool. */
const NOT_MINE = /^(SINK|SINK_[A-Z_]+|COS_[A-Z_]+|HTTP_HOST|HTTP_PORT|PLUGINS_DIR)$/;

/**
 * The environment without the consumer-only variables.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dlqEnv } from "./main.ts";
 * assert.deepEqual(dlqEnv({ SINK: "s3", DLQ_TOPIC: "x.dlq" }), { DLQ_TOPIC: "x.dlq" });
 * ```
 */
export function dlqEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !NOT_MINE.test(name)));
}

/** Runs the CLI; resolves with the exit code (cli/usage.ts: 0, 1, 2, 130/143). */
export function main(args: readonly string[], io: MainIo = processIo()): Promise<number> {
  return runTask("dlq", () => dlq(args, io), io.stderr);
}

async function dlq(args: readonly string[], io: MainIo): Promise<number> {
  const cli = parseCli(args);
  if (cli.command === "help") {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const settings = settingsOrUsage(() => loadSettings(dlqEnv(io.env)));
  const log = (line: string) => io.stderr(`${line}\n`);
  const kafka = createKafka(settings.kafka, {
    clientId: `${settings.kafka.clientId}-dlq`,
    logLevel: settings.logLevel === "debug" ? "debug" : "none",
    log,
    connectionTimeout: Math.min(10_000, cli.common.timeoutMs),
  });
  const admin = kafka.admin();
  // First SIGINT/SIGTERM: stop between batches (what was acknowledged gets committed, the group is
  // left cleanly, so the next run need not wait for the session timeout). Second: quit at once.
  const interrupt = new AbortController();
  let stoppedBy: "SIGINT" | "SIGTERM" | undefined;
  const offSignal = io.onSignal((signal) => {
    if (stoppedBy !== undefined) Deno.exit(SIGNAL_EXIT[signal]);
    stoppedBy = signal;
    log(`dlq: ${signal}: stopping after the current batch (again to quit at once)`);
    interrupt.abort();
  });
  try {
    try {
      await admin.connect();
      await requireTopics(
        admin,
        cli.command === "redrive"
          ? [["DLQ_TOPIC", settings.topics.dlq], ["ORDERS_TOPIC", settings.topics.orders]]
          : [["DLQ_TOPIC", settings.topics.dlq]],
      );
      const code = await run(cli, settings, kafka, admin, io, interrupt.signal);
      return stoppedBy === undefined ? code : SIGNAL_EXIT[stoppedBy];
    } finally {
      offSignal();
      await admin.disconnect().catch(() => undefined);
    }
  } catch (error) {
    const e = explain(error, settings);
    io.stderr(`dlq: error: ${e.message}\n${e.remedy}\n`);
    if (cli.common.json && !e.jsonPrinted) io.stdout(`${JSON.stringify({ error: e.message })}\n`);
    return e.code;
  }
}

async function requireTopics(admin: Admin, topics: readonly [string, string][]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  for (const [variable, topic] of topics) {
    if (!existing.has(topic)) {
      throw new DlqError(
        `Cannot use topic "${topic}" (${variable}): it does not exist`,
        `Check ${variable} in the environment / .env, or create the topic (locally, ` +
          `bash dev/kafka.sh start creates "orders" and "orders.dlq").`,
      );
    }
  }
}

function explain(error: unknown, settings: Settings): DlqError {
  if (error instanceof DlqError) return error;
  const why = (error as Error).message;
  if (error instanceof ReadStalledError) {
    return new DlqError(
      `Cannot read "${settings.topics.dlq}" to the end: ${why}`,
      "Check that the broker is healthy (deno task check), or raise --timeout.",
    );
  }
  if (error instanceof RedriveBusyError) {
    return new DlqError(
      `Cannot redrive: ${why}`,
      "Another redrive is running: wait for it to finish, or stop it (two at once would send the " +
        "same records twice). A redrive killed without a chance to leave stays a member until " +
        "its session times out (30 s).",
    );
  }
  if (error instanceof LedgerError) {
    return new DlqError(
      `Cannot redrive: the redrive group's ${why}`,
      "Use another --group, or delete this group (records past its committed offset may then be " +
        "sent again).",
    );
  }
  if (error instanceof SendTimeoutError) {
    return new DlqError(
      `Cannot redrive: ${why}`,
      "Nothing past the last acknowledged batch was committed; run again once ORDERS_TOPIC " +
        "accepts writes (deno task check), or raise --timeout.",
    );
  }
  const d = describeKafkaError(error, settings.kafka);
  return new DlqError(
    `Cannot talk to Kafka at ${settings.kafka.brokers.join(",")} ` +
      `(${settings.kafka.securityProtocol}): ${d.message}`,
    d.remedy,
  );
}

function throwawayGroup(settings: Settings): string {
  const hex = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return `${settings.kafka.clientId}-dlq-read-${Date.now().toString(36)}-${hex}`;
}

async function run(
  cli: Exclude<DlqCommand, { command: "help" }>,
  settings: Settings,
  kafka: Kafka,
  admin: Admin,
  io: MainIo,
  signal: AbortSignal,
): Promise<number> {
  const topic = settings.topics.dlq;
  const log = (line: string) => io.stderr(`${line}\n`);
  const readGroup = throwawayGroup(settings);
  let progress = "";
  const timer = cli.common.quiet ? undefined : setInterval(
    () => progress !== "" && log(`dlq: ${progress}`),
    cli.common.progressIntervalMs,
  );
  try {
    if (cli.command === "redrive") {
      const report = await redrive({
        kafka,
        admin,
        dlqTopic: topic,
        ordersTopic: settings.topics.orders,
        groupId: cli.group ?? `${settings.consumer.groupId}${DLQ_DEFAULTS.groupSuffix}`,
        dryRunGroupId: readGroup,
        filter: cli.filter,
        dryRun: cli.dryRun,
        timeoutMs: cli.common.timeoutMs,
        signal,
        onProgress: (c: RedriveCounts) => {
          progress = `read ${c.read}/${c.total} records, ${cli.dryRun ? "would send" : "sent"} ` +
            `${c.totals.sent}, already sent ${c.totals.already_sent}, held ${c.totals.held}`;
        },
      });
      io.stderr(formatRedrive(report));
      if (report.totals.deferred === 0) {
        if (cli.common.json) io.stdout(`${JSON.stringify(report)}\n`);
        return EXIT.ok;
      }
      const message = `Cannot redrive ${report.totals.deferred} matching records in this run: ` +
        `the redrive group's commit metadata has no room to record more sends past the held records`;
      // One JSON object on stdout, also on this failure: the report with the error in it.
      if (cli.common.json) io.stdout(`${JSON.stringify({ ...report, error: message })}\n`);
      throw new DlqError(
        message,
        "Redrive the held records first (run without filters, or with their --reason), then run " +
          "this redrive again.",
        EXIT.failure,
        true,
      );
    }
    const ranges = await topicRanges(admin, topic);
    const total = remaining(ranges);
    let read = 0;
    const stats = new DlqStats();
    let shown = 0;
    const end = await scanTopic({
      kafka,
      topic,
      groupId: readGroup,
      ranges,
      signal,
      idleTimeoutMs: cli.common.timeoutMs,
      onBatch: (_partition, records: readonly DeadLetter[]) => {
        read += records.length;
        progress = `read ${read}/${total} records`;
        if (cli.command === "stats") {
          for (const r of records) stats.add(r);
          return Promise.resolve("continue");
        }
        const out: string[] = [];
        for (const r of records) {
          if (shown >= cli.limit) break;
          if (!matches(r, cli.filter)) continue;
          shown++;
          out.push(
            cli.common.json ? `${JSON.stringify(recordJson(r))}\n` : formatRecord(r, cli.maxChars),
          );
        }
        if (out.length > 0) io.stdout(out.join(""));
        return Promise.resolve(shown >= cli.limit ? "stop" : "continue");
      },
    });
    if (end === "interrupted") {
      log(`dlq: interrupted after ${read} of ${total} records`);
    } else if (cli.command === "stats") {
      const report = stats.report(topic);
      io.stdout(cli.common.json ? `${JSON.stringify(report)}\n` : formatStats(report));
    } else if (shown === 0) {
      log(
        `dlq: no records${
          cli.filter.reason === undefined ? "" : " with that reason"
        } in "${topic}"`,
      );
    }
    return EXIT.ok;
  } finally {
    clearInterval(timer);
    // The throwaway group never committed; delete it so it does not linger in group listings.
    await admin.deleteGroups([readGroup]).catch(() => undefined);
  }
}

function processIo(): MainIo {
  return {
    env: Deno.env.toObject(),
    stdout: (text) => writeAllSync(Deno.stdout, text),
    stderr: (text) => writeAllSync(Deno.stderr, text),
    onSignal: onStopSignals,
  };
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
