/**
 * `deno task consume`: the consumer-group worker CLI.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  loadSettingsFromEnvironment,
  redact,
  secretsOf,
  SettingsError,
} from "../config/settings.ts";
import type { Settings } from "../config/settings.ts";
import { createKafka, describeKafkaError } from "../config/kafka.ts";
import { ConsumerWorker, TopicNotFoundError } from "./worker.ts";
import { sinkFromSettings } from "./sink_from_settings.ts";
import { ScoringHost } from "./scoring/host.ts";
import { ManifestError } from "./scoring/manifest.ts";
import { createConsumerHttp } from "./http/app.ts";
import { startHttpServer } from "./http/server.ts";

const HELP = `Usage: deno task consume [options]

Consumes orders from ORDERS_TOPIC as group CONSUMER_GROUP, validates, scores, enriches and writes
each to the sink (SINK=local|cos, SINK_LAYOUT=per-order|batched); bad records go to DLQ_TOPIC.
Offsets are committed only once the record is durable (or acknowledged by the DLQ).

Options:
  --from-latest             start at the end of partitions the group has no commit for (skips
                            what is already in the topic; default: start at the earliest offset,
                            so a new group misses nothing). Committed offsets always win.
  --from-beginning          accepted for compatibility; a no-op (earliest is the default)
  --max-records <n>         stop after n records are done (stored or dead-lettered)
  --until-idle <ms>         stop after <ms> without new records once nothing is in flight
  --shutdown-timeout <ms>   deadline for a graceful stop on SIGINT/SIGTERM (default 10000)
  --summary-interval <ms>   stderr summary line interval (default 5000, 0 = off)
  --batch-records <n>       SINK_LAYOUT=batched: segment size in offsets (default 1000)
  --batch-max-age <ms>      SINK_LAYOUT=batched: write a segment still filling once its oldest
                            unwritten record is this old (default 5000)
  -h, --help                show this help

Environment: KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_USERNAME, KAFKA_PASSWORD|KAFKA_API_KEY,
KAFKA_CA_FILE, EVENT_STREAMS_CREDENTIALS[_FILE], ORDERS_TOPIC, DLQ_TOPIC, CONSUMER_GROUP, SINK,
SINK_DIR, SINK_LAYOUT, COS_* (see README), PLUGINS_DIR, LOG_LEVEL.
Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad arguments or settings.`;

function fail(message: string, remedy: string): never {
  console.error(`${message}\n${remedy}`);
  Deno.exit(2);
}

function parseMs(name: string, text: string | undefined, fallback: number | undefined) {
  if (text === undefined) return fallback;
  const m = /^(\d+)(ms|s)?$/.exec(text.trim());
  if (m === null) {
    fail(
      `Cannot parse --${name} "${text}": not a duration`,
      `Use milliseconds, e.g. --${name} 5000 (or 5s).`,
    );
  }
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        "help": { type: "boolean", short: "h" },
        "from-beginning": { type: "boolean" },
        "from-latest": { type: "boolean" },
        "max-records": { type: "string" },
        "until-idle": { type: "string" },
        "shutdown-timeout": { type: "string" },
        "summary-interval": { type: "string" },
        "batch-records": { type: "string" },
        "batch-max-age": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    fail(`Cannot parse arguments: ${(error as Error).message}`, "Run with --help for usage.");
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  if (args["from-latest"] && args["from-beginning"]) {
    fail(
      "Cannot use --from-latest with --from-beginning: they pick opposite start offsets",
      "Drop one (earliest is the default).",
    );
  }
  const maxRecordsText = args["max-records"];
  const maxRecords = maxRecordsText === undefined ? undefined : Number(maxRecordsText);
  if (maxRecords !== undefined && !(Number.isSafeInteger(maxRecords) && maxRecords > 0)) {
    fail(
      `Cannot parse --max-records "${maxRecordsText}": not a positive integer`,
      "Use e.g. --max-records 1000.",
    );
  }
  const untilIdle = parseMs("until-idle", args["until-idle"], undefined);
  const shutdownTimeout = parseMs("shutdown-timeout", args["shutdown-timeout"], 10_000)!;
  const summaryInterval = parseMs("summary-interval", args["summary-interval"], 5000)!;
  const batchRecordsText = args["batch-records"];
  const batchRecords = batchRecordsText === undefined ? 1000 : Number(batchRecordsText);
  if (!(Number.isSafeInteger(batchRecords) && batchRecords > 0)) {
    fail(
      `Cannot parse --batch-records "${batchRecordsText}": not a positive integer`,
      "Use e.g. --batch-records 1000.",
    );
  }
  const batchMaxAge = parseMs("batch-max-age", args["batch-max-age"], 5000)!;
  if (batchMaxAge < 1) {
    fail(
      "Cannot use --batch-max-age 0: segments would never wait",
      "Use e.g. --batch-max-age 5000.",
    );
  }

  let settings: Settings;
  try {
    settings = loadSettingsFromEnvironment();
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(error.message);
      console.error('Fix the variables above (see README, "Configuration") and run again.');
      return 2;
    }
    throw error;
  }
  const secrets = secretsOf(settings);
  const log = (line: string) => console.error(redact(line, secrets));

  const sink = sinkFromSettings(settings.sink, {
    records: batchRecords,
    maxAgeMs: batchMaxAge,
    log,
  });
  let host: ScoringHost;
  try {
    host = await ScoringHost.start({ pluginsDir: settings.pluginsDir, watch: true, log });
  } catch (error) {
    if (!(error instanceof ManifestError || error instanceof Deno.errors.NotFound)) throw error;
    log(`Cannot load the scoring plugins from ${settings.pluginsDir}: ${error.message}`);
    log("Fix the manifest (deno task plugins validate) or point PLUGINS_DIR at the plugins.");
    return 2;
  }
  const kafka = createKafka(settings.kafka, {
    clientId: `${settings.kafka.clientId}-consumer`,
    logLevel: settings.logLevel === "debug" ? "info" : "warn",
    log,
  });
  const where = settings.sink.kind === "local"
    ? `local:${settings.sink.dir}`
    : `cos:${settings.sink.cos.endpoint}/${settings.sink.cos.bucket}`;
  log(
    `consumer: starting group=${settings.consumer.groupId} topic=${settings.topics.orders} ` +
      `dlq=${settings.topics.dlq} sink=${where} layout=${settings.sink.layout}`,
  );
  try {
    await sink.probe();
  } catch (error) {
    log(`consumer: sink not ready yet (will retry on write): ${(error as Error).message}`);
  }
  let worker: ConsumerWorker;
  try {
    worker = await ConsumerWorker.start({
      kafka,
      topic: settings.topics.orders,
      dlqTopic: settings.topics.dlq,
      groupId: settings.consumer.groupId,
      sessionTimeout: settings.consumer.sessionTimeoutMs,
      sink,
      score: (orders) => host.score(orders),
      fromBeginning: !(args["from-latest"] ?? false),
      summaryIntervalMs: summaryInterval,
      log,
    });
  } catch (error) {
    if (error instanceof TopicNotFoundError) {
      log(error.message);
      log(
        "Create the topic(s) (locally `deno task kafka` creates orders and orders.dlq) " +
          "or fix ORDERS_TOPIC / DLQ_TOPIC.",
      );
    } else {
      const d = describeKafkaError(error, settings.kafka);
      log(
        `Cannot start the consumer: Kafka at ${settings.kafka.brokers.join(",")} ` +
          `(${settings.kafka.securityProtocol}): ${d.message}`,
      );
      log(d.remedy);
    }
    await Promise.allSettled([host.close(), sink.close()]);
    return 1;
  }
  let stopping = false;
  const http = startHttpServer(
    createConsumerHttp({
      settings,
      consumer: {
        metrics: worker.metrics(),
        inFlight: () => worker.inFlight(),
        refreshLag: () => worker.lag(),
        probeSink: () => sink.probe(),
        scoring: host,
        stopping: () => stopping,
      },
    }),
    { host: settings.http.host, port: settings.http.port, log },
  );

  const { promise: stopSignal, resolve: requestStop } = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => requestStop(name);
  const onInt = onSignal("SIGINT");
  const onTerm = onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);

  let poll: ReturnType<typeof setInterval> | undefined;
  if (maxRecords !== undefined || untilIdle !== undefined) {
    let lastDone = -1;
    let lastChange = Date.now();
    poll = setInterval(() => {
      const m = worker.metrics();
      const done = m.stored.value + m.deadLettered.value;
      if (maxRecords !== undefined && done >= maxRecords) {
        requestStop(`--max-records ${maxRecords}`);
      }
      if (done !== lastDone || m.groupJoins.value === 0 || worker.inFlight() > 0) {
        lastDone = done;
        lastChange = Date.now();
      } else if (untilIdle !== undefined && Date.now() - lastChange >= untilIdle) {
        requestStop(`--until-idle ${untilIdle}`);
      }
    }, 50);
  }

  const reason = await Promise.race([
    stopSignal,
    worker.crashed.then((e) => `crash: ${e.message}`),
  ]);
  if (poll !== undefined) clearInterval(poll);
  stopping = true; // /healthz and /readyz answer 503 from here on
  log(`consumer: stopping (${reason}), deadline ${shutdownTimeout} ms`);
  const report = await worker.stop(shutdownTimeout);
  await sink.close();
  await http?.close();
  await host.close();
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  log(worker.metrics().summaryLine());
  log(
    `consumer: stopped ${report.clean ? "cleanly" : "at the deadline"}; ` +
      `${report.abandoned} record(s) not durable were left uncommitted`,
  );
  return reason.startsWith("crash") ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}
