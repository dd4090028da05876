/**
 * `deno task consume`: the consumer-group member CLI.
 *
 * @module
 */
import { settleWithin } from "../core/async.ts";
import {
  EXIT,
  parseFlags,
  runTask,
  settingsOrUsage,
  SIGNAL_EXIT,
  UsageError,
} from "../cli/usage.ts";
import { describePatchReport, installKafkajsPatches } from "../kafkajs_patches/mod.ts";
import { loadSettingsFromEnvironment, redact, secretsOf } from "../config/settings.ts";
import { createKafka, describeKafkaError } from "../clients/kafka.ts";
import { describeCosError, fetchIamToken, IamTokenError } from "../clients/cos.ts";
import { GroupMember, MissingTopicsError } from "./group_member.ts";
import { backoffDelay } from "./retry.ts";
import { sinkFromSettings } from "./sink_from_settings.ts";
import { ScoringHost } from "../plugins_host/host.ts";
import { ManifestError } from "../plugins_host/manifest.ts";
import { createConsumerHttp } from "./http/app.ts";
import { startHttpServer } from "./http/server.ts";
import { StartupReadiness } from "./startup.ts";
import { warmUp } from "./warmup.ts";

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
  --shutdown-timeout <ms>   deadline for a graceful stop on SIGINT/SIGTERM (default 10000):
                            stop fetching, commit what is durable, leave the group. Records not
                            durable by then stay uncommitted (re-delivered on restart); a second
                            SIGINT/SIGTERM exits at once
  --summary-interval <ms>   stderr summary line interval (default 5000, 0 = off)
  --batch-records <n>       SINK_LAYOUT=batched: segment size in offsets (default 1000)
  --batch-max-age <ms>      SINK_LAYOUT=batched: write a segment still filling once its oldest
                            unwritten record is this old (default 5000)
  -h, --help                show this help

Environment: KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_USERNAME, KAFKA_PASSWORD|KAFKA_API_KEY,
KAFKA_CA_FILE, EVENT_STREAMS_CREDENTIALS[_FILE], ORDERS_TOPIC, DLQ_TOPIC, CONSUMER_GROUP, SINK,
SINK_DIR, SINK_LAYOUT, COS_* (see README), PLUGINS_DIR, LOG_LEVEL.
Exit codes:
  0    stopped within the deadline: everything durable committed, group left (records that
       failed or were still in flight are left uncommitted and named in the log)
  1    runtime failure (Kafka unreachable at start, a topic missing, the consumer crashed), or
       the shutdown deadline passed with work unfinished: a log line names what was left
       uncommitted (it is re-delivered; nothing past it was committed)
  2    bad arguments or settings, broken plugins manifest, COS credentials rejected at start
  130  a second SIGINT during the shutdown (143: a second SIGTERM): exited at once, nothing
       further committed`;

function usage(message: string, remedy: string): never {
  throw new UsageError(message, { remedy });
}

function parseMs(name: string, text: string | undefined, fallback: number | undefined) {
  if (text === undefined) return fallback;
  const m = /^(\d+)(ms|s)?$/.exec(text.trim());
  if (m === null) {
    usage(
      `Cannot parse --${name} "${text}": not a duration`,
      `Use milliseconds, e.g. --${name} 5000 (or 5s).`,
    );
  }
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}

async function main(): Promise<number> {
  const { values: args } = parseFlags(Deno.args, {
    string: [
      "max-records",
      "until-idle",
      "shutdown-timeout",
      "summary-interval",
      "batch-records",
      "batch-max-age",
    ],
    boolean: ["from-beginning", "from-latest"],
  });
  if (args.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  if (args["from-latest"] && args["from-beginning"]) {
    usage(
      "Cannot use --from-latest with --from-beginning: they pick opposite start offsets",
      "Drop one (earliest is the default).",
    );
  }
  const maxRecordsText = args["max-records"];
  const maxRecords = maxRecordsText === undefined ? undefined : Number(maxRecordsText);
  if (maxRecords !== undefined && !(Number.isSafeInteger(maxRecords) && maxRecords > 0)) {
    usage(
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
    usage(
      `Cannot parse --batch-records "${batchRecordsText}": not a positive integer`,
      "Use e.g. --batch-records 1000.",
    );
  }
  const batchMaxAge = parseMs("batch-max-age", args["batch-max-age"], 5000)!;
  if (batchMaxAge < 1) {
    usage(
      "Cannot use --batch-max-age 0: segments would never wait",
      "Use e.g. --batch-max-age 5000.",
    );
  }

  const settings = settingsOrUsage(loadSettingsFromEnvironment);
  const secrets = secretsOf(settings);
  const log = (line: string) => console.error(redact(line, secrets));
  log(describePatchReport(installKafkajsPatches()));

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
    return EXIT.usage;
  }
  const kafka = createKafka(settings.kafka, {
    clientId: `${settings.kafka.clientId}-consumer`,
    logLevel: settings.logLevel === "debug" ? "info" : "warn",
    log,
  });
  // Ready (/readyz 200, one "consumer: ready" line) only once it can store at full speed.
  const startup = new StartupReadiness(["scorer warm-up", "sink probe", "first fetch"], { log });
  const scored = host.status().filter((r) =>
    r.channel !== undefined && r.channel !== "*" && (r.state === "ready" || r.state === "backoff")
  );
  // Runs while Kafka is reached; its first calls of each scorer are the slow ones.
  void warmUp((orders) => host.score(orders), scored.map((r) => r.channel!)).then((w) => {
    if (w.failed > 0) {
      log(`consumer: warm-up: ${w.failed} synthetic order(s) not scored (see scorer lines)`);
    }
    startup.complete(
      "scorer warm-up",
      w.channels.length === 0
        ? "no channel scorer to warm"
        : `scorers warmed (${w.channels.join(",")}) in ${Math.round(w.ms)} ms`,
    );
  }, (error) => log(`consumer: warm-up failed: ${(error as Error).message}`));
  const where = settings.sink.kind === "local"
    ? `local:${settings.sink.dir}`
    : `cos:${settings.sink.cos.endpoint}/${settings.sink.cos.bucket}`;
  log(
    `consumer: starting group=${settings.consumer.groupId} topic=${settings.topics.orders} ` +
      `dlq=${settings.topics.dlq} sink=${where} layout=${settings.sink.layout}`,
  );
  try {
    // IAM first: the SDK reports a rejected API key only as "Missing credentials in config".
    if (settings.sink.kind === "cos" && settings.sink.cos.auth.kind === "iam") {
      await fetchIamToken(settings.sink.cos.auth);
    }
    await sink.probe();
    startup.complete("sink probe", "sink probed");
  } catch (error) {
    // Rejected credentials are a settings problem no retry fixes: stop with the cause. An
    // unreachable IAM or COS is an outage like any other: start, and retry on write.
    if (settings.sink.kind === "cos" && credentialsRejected(error)) {
      const d = describeCosError(error, settings.sink.cos);
      log(`Cannot start the consumer: ${d.message}`);
      log(`Fix: ${d.remedy}`);
      await Promise.allSettled([host.close(), sink.close()]);
      return EXIT.usage;
    }
    log(`consumer: sink not ready yet (will retry on write): ${(error as Error).message}`);
  }
  let stopping = false;
  if (startup.waitingFor().includes("sink probe")) {
    // Ready waits for the sink: probe again with backoff until it answers.
    void (async () => {
      for (let attempt = 1; !stopping; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt)));
        if (stopping) return;
        try {
          await sink.probe();
          startup.complete("sink probe", `sink probed (after ${attempt} retries)`);
          return;
        } catch {
          // Still unavailable: /readyz says so through its own probe.
        }
      }
    })();
  }
  const member = GroupMember.create({
    kafka,
    topic: settings.topics.orders,
    dlqTopic: settings.topics.dlq,
    groupId: settings.consumer.groupId,
    sessionTimeout: settings.consumer.sessionTimeoutMs,
    fetchMaxBytes: settings.consumer.fetchMaxBytes,
    fetchMaxBytesPerPartition: settings.consumer.fetchMaxBytesPerPartition,
    sink,
    score: (orders) => host.score(orders),
    fromBeginning: !(args["from-latest"] ?? false),
    summaryIntervalMs: summaryInterval,
    log,
  });
  void member.firstFetch().then((f) =>
    startup.complete(
      "first fetch",
      `group joined at ${Math.round(f.joinedAt)} ms (partitions [${f.partitions.join(",")}]), ` +
        `first fetch issued at ${Math.round(f.fetchAt)} ms, answered`,
    )
  );
  // HTTP first: /healthz answers while Kafka is still being reached, /readyz says "not joined"
  // until the group join and "starting" until the start-up steps are done (orchestrators expect
  // liveness from the start).
  const http = startHttpServer(
    createConsumerHttp({
      settings,
      consumer: {
        metrics: member.metrics(),
        inFlight: () => member.inFlight(),
        refreshLag: () => member.lag(),
        probeSink: () => sink.probe(),
        scoring: host,
        stopping: () => stopping,
        starting: () => startup.ready ? undefined : startup.waitingFor().join(", "),
      },
    }),
    { host: settings.http.host, port: settings.http.port, log },
  );
  try {
    await member.run();
  } catch (error) {
    if (error instanceof MissingTopicsError) {
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
    stopping = true;
    await Promise.allSettled([host.close(), sink.close(), http?.close()]);
    return EXIT.failure;
  }

  const { promise: stopSignal, resolve: requestStop } = Promise.withResolvers<string>();
  let stopStarted = false;
  // The first signal starts the graceful stop; another one while it runs exits at once (a second
  // Ctrl-C), 128 + signal number as shells report it. Nothing further is committed: commits only
  // ever carry durable offsets, so what is not durable is simply re-delivered.
  const onSignal = (name: "SIGINT" | "SIGTERM") => () => {
    const code = SIGNAL_EXIT[name];
    if (!stopStarted) {
      requestStop(name);
      return;
    }
    log(
      `consumer: second ${name} during the shutdown: exiting now (${code}); ` +
        `${member.inFlight()} record(s) not durable left uncommitted, re-delivered on restart`,
    );
    Deno.exit(code);
  };
  const onInt = onSignal("SIGINT");
  const onTerm = onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);

  let poll: ReturnType<typeof setInterval> | undefined;
  if (maxRecords !== undefined || untilIdle !== undefined) {
    let lastDone = -1;
    let lastChange = Date.now();
    poll = setInterval(() => {
      const m = member.metrics();
      const done = m.stored.value + m.deadLettered.value;
      if (maxRecords !== undefined && done >= maxRecords) {
        requestStop(`--max-records ${maxRecords}`);
      }
      if (done !== lastDone || m.groupJoins.value === 0 || member.inFlight() > 0) {
        lastDone = done;
        lastChange = Date.now();
      } else if (untilIdle !== undefined && Date.now() - lastChange >= untilIdle) {
        requestStop(`--until-idle ${untilIdle}`);
      }
    }, 50);
  }

  const reason = await Promise.race([
    stopSignal,
    member.crashed.then((e) => `crash: ${e.message}`),
  ]);
  stopStarted = true;
  if (poll !== undefined) clearInterval(poll);
  stopping = true; // /healthz and /readyz answer 503 from here on
  log(`consumer: stopping (${reason}), deadline ${shutdownTimeout} ms`);
  // One deadline for the whole stop. The member stops fetching, commits what is durable and
  // leaves the group within it; closing the sink (the batched layout writes its open segments,
  // uncommitted either way), the HTTP server and the scoring plugin processes get what is left of it.
  // Nothing that could still be running after the deadline is awaited: a stalled S3 cannot
  // hold the process past it.
  const deadlineAt = Date.now() + shutdownTimeout;
  const report = await member.stop(shutdownTimeout);
  const closing = Promise.allSettled([sink.close(), http?.close(), host.close()]).then(
    (results) => {
      for (const r of results) {
        if (r.status === "rejected") log(`consumer: cannot close cleanly: ${r.reason}`);
      }
      return "closed" as const;
    },
  );
  const closed = await settleBy(closing, deadlineAt) === "closed";
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  log(member.metrics().summaryLine());
  const left = Object.entries(report.abandonedFrom)
    .map(([p, offset]) => `${p}@${offset}`).join(",");
  const uncommitted = `${report.abandoned} record(s) not durable were left uncommitted` +
    (left === "" ? "" : ` (partition@first offset: ${left})`);
  if (!report.clean || !closed) {
    const unfinished = !report.clean
      ? "before in-flight writes finished and the group was left (its partitions move to " +
        "another member after the session timeout)"
      : `before the sink closed (${sink.name}: its last writes may be missing; never committed)`;
    log(
      `consumer: shutdown deadline of ${shutdownTimeout} ms passed ${unfinished}; ` +
        `${uncommitted}; they will be re-delivered, nothing past them was committed`,
    );
    return EXIT.failure;
  }
  log(`consumer: stopped cleanly; ${uncommitted}`);
  return reason.startsWith("crash") ? EXIT.failure : EXIT.ok;
}

/**
 * True when COS or IAM refused the credentials themselves (IAM answered 400/401/403 to the API
 * key, or COS rejected the HMAC keys): retrying cannot help. 429 and 5xx are outages.
 */
function credentialsRejected(error: unknown): boolean {
  if (error instanceof IamTokenError) {
    return error.status === 400 || error.status === 401 || error.status === 403;
  }
  return describeCosError(error).kind === "credentials";
}

/** Resolves with `work`'s value, or "deadline" once `deadlineAt` (epoch ms) has passed. */
function settleBy<T>(work: Promise<T>, deadlineAt: number): Promise<T | "deadline"> {
  return settleWithin(work, deadlineAt - Date.now(), "deadline" as const);
}

if (import.meta.main) {
  Deno.exit(await runTask("consume", main));
}
