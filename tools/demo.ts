/**
 * `deno task demo`: the whole pipeline on this machine in one command.
 *
 * Starts the local Kafka broker when it is not running (and stops it again at the end), creates
 * a fresh topic pair and consumer group, starts the consumer (writing to
 * `./data/demo-<ts>-<hex>`) and waits until it reports ready, produces synthetic orders through
 * the producer CLI, waits until every order is stored, prints
 * a report computed from the stored files, and stops what it started. Always uses the local
 * broker on PLAINTEXT and the local disk sink: `.env` and Kafka/COS settings are ignored.
 *
 * Exit codes: 0 every order stored, 1 the demo failed (the message says why), 2 bad arguments,
 * 130 interrupted.
 *
 * @module
 */
import { consumeV8Flags } from "./consume_flags.ts";
import { delay, settleWithin } from "../core/async.ts";
import { parseArgs } from "node:util";
import type { Admin } from "kafkajs";
import { createKafka, describeKafkaError } from "../clients/kafka.ts";
import { loadSettings } from "../config/settings.ts";
import { buildDemoReport, formatDemoReport } from "./demo_report.ts";
import { countStoredOrders, readStoredOrders } from "./stored_orders.ts";

const HELP = `Usage: deno task demo [options]

Runs the pipeline end to end on this machine: the local Kafka broker (started if needed,
stopped again if the demo started it), a fresh topic pair demo-<ts>-<hex> + .dlq (6 partitions)
and consumer group, the consumer writing to ./data/demo-<ts>-<hex> (producing starts once it
reports ready), the producer sending synthetic orders; then a report computed from the stored
files.

Options:
  --count N      orders to produce (default 5000)
  --rate R       orders per second, 0 = as fast as possible (default 1000)
  --timeout S    give up when not every order is stored S seconds after producing started
                 (default 120)
  --keep         leave the consumer, the topics and the broker running; print how to stop them
  -h, --help     show this help

Uses the local broker on PLAINTEXT localhost:9092 and the local disk, whatever .env says.
Exit codes: 0 every order stored, 1 demo failed, 2 bad arguments, 130 interrupted.`;

/** Demo command line. */
interface DemoOptions {
  readonly count: number;
  readonly rate: number;
  readonly timeoutS: number;
  readonly keep: boolean;
}

/** A failure the demo explains to the user (message + remedy); exit code 1. */
class DemoError extends Error {
  override name = "DemoError";
  /** What to do about it. */
  readonly remedy: string;
  constructor(message: string, remedy: string, options?: ErrorOptions) {
    super(message, options);
    this.remedy = remedy;
  }
}

/** Bad command line; exit code 2. */
class UsageError extends Error {
  override name = "UsageError";
}

function parseOptions(args: readonly string[]): DemoOptions | "help" {
  let values;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        help: { type: "boolean", short: "h" },
        count: { type: "string" },
        rate: { type: "string" },
        timeout: { type: "string" },
        keep: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (values.help) return "help";
  const int = (name: string, text: string | undefined, fallback: number, min: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new UsageError(`Cannot parse --${name} "${text}": not an integer >= ${min}`);
    }
    return n;
  };
  return {
    count: int("count", values.count, 5000, 1),
    rate: int("rate", values.rate, 1000, 0),
    timeoutS: int("timeout", values.timeout, 120, 1),
    keep: values.keep ?? false,
  };
}

function stamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-26T20:45:01.123Z
  return `${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}`;
}

const decoder = new TextDecoder();

async function runQuiet(
  cmd: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args: [...args], stdin: "null" }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** `bash dev/kafka.sh start` with its progress on our stderr; true when it was not running. */
async function ensureBroker(): Promise<boolean> {
  const status = await runQuiet("bash", ["dev/kafka.sh", "status"]);
  if (status.code === 0) {
    console.error("demo: local Kafka broker already running (it will be left running)");
    return false;
  }
  console.error(
    "demo: starting the local Kafka broker (bash dev/kafka.sh start; the first run downloads " +
      "the Kafka jars from Maven Central, ~54 MB)...",
  );
  const start = await new Deno.Command("bash", {
    args: ["dev/kafka.sh", "start"],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (start.code !== 0) {
    throw new DemoError(
      `Cannot start the local Kafka broker: dev/kafka.sh exited with ${start.code}`,
      "See its messages above (Java 17, Maven and OpenSSL are needed: apt-get install -y " +
        "openjdk-17-jre-headless maven openssl), or look at .run/kafka/logs/.",
    );
  }
  return true;
}

async function stopBroker(): Promise<void> {
  console.error("demo: stopping the local Kafka broker (the demo started it)");
  const stop = await new Deno.Command("bash", {
    args: ["dev/kafka.sh", "stop"],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (stop.code !== 0) console.error(`demo: dev/kafka.sh stop exited with ${stop.code}`);
}

/** 8787 when free (or HTTP_PORT as set), else a free port; "0" when HTTP_PORT=0. */
function choosePort(): string {
  const wanted = Deno.env.get("HTTP_PORT");
  if (wanted !== undefined && wanted !== "") return wanted;
  for (const port of [8787, 0]) {
    try {
      const listener = Deno.listen({ hostname: "127.0.0.1", port });
      const chosen = (listener.addr as Deno.NetAddr).port;
      listener.close();
      return String(chosen);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
  return "0";
}

/** Answers when something serves HTTP on the port (the consumer's dashboard, once built). */
async function dashboardAnswers(port: string): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      signal: AbortSignal.timeout(500),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false; // not serving (yet): the dashboard is optional for the demo
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).map((l) => `    ${l}`).join("\n");
}

async function readLog(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

async function dlqCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/** True when `promise` settles within `ms`; clears its timer either way. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return settleWithin(promise.then(() => true), ms, false);
}

/** Waits up to `graceMs` for the consumer to exit by itself, then SIGTERMs it and waits. */
async function stopConsumer(
  child: Deno.ChildProcess,
  exit: Promise<Deno.CommandStatus>,
  graceMs: number,
): Promise<void> {
  if (!await settlesWithin(exit, graceMs)) {
    try {
      child.kill("SIGTERM");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // TypeError: it exited meanwhile
    }
  }
  const status = await exit;
  console.error(`demo: consumer stopped (exit ${status.code})`);
}

/** How long the consumer may take to become ready (join, first fetch, warm-up). */
const READY_TIMEOUT_MS = 60_000;

/**
 * Waits for the consumer's "consumer: ready" log line (it can store at full speed from then on:
 * group joined, first fetch answered, scorers warmed, sink probed) and returns it. Producing
 * earlier would time the consumer's start-up into the first orders' latency.
 */
async function consumerReady(
  logPath: string,
  exit: Promise<Deno.CommandStatus>,
  signal: AbortSignal,
): Promise<string> {
  let status: Deno.CommandStatus | undefined;
  void exit.then((s) => status = s);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (signal.aborted) throw new DemoError("Interrupted", "");
    const log = await readLog(logPath);
    const line = /^consumer: ready .*$/m.exec(log)?.[0];
    if (line !== undefined) return line;
    if (status !== undefined) {
      throw new DemoError(
        `Cannot start the consumer: it exited (code ${status.code}) before it was ready\n` +
          tail(log, 15),
        `See the consumer log ${logPath}.`,
      );
    }
    if (Date.now() > deadline) {
      throw new DemoError(
        `Cannot start the consumer: not ready after ${READY_TIMEOUT_MS / 1000} s\n${tail(log, 15)}`,
        `See the consumer log ${logPath}.`,
      );
    }
    await delay(25, signal);
  }
}

/** Runs the demo; resolves with the exit code. */
async function main(args: readonly string[]): Promise<number> {
  let options: DemoOptions;
  try {
    const parsed = parseOptions(args);
    if (parsed === "help") {
      console.log(HELP);
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`demo: ${error.message}\nRun "deno task demo --help" for usage.`);
    return 2;
  }

  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  const suffix = Array.from(
    crypto.getRandomValues(new Uint8Array(2)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const name = `demo-${stamp(new Date())}-${suffix}`;
  const sinkDir = `./data/${name}`;
  const logPath = `${sinkDir}/consumer.log`;
  const dlqTopic = `${name}.dlq`;
  const httpPort = choosePort();
  const env: Record<string, string> = {
    KAFKA_BROKERS: "localhost:9092",
    KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
    KAFKA_PASSWORD: "",
    KAFKA_API_KEY: "",
    KAFKA_CA_FILE: "",
    EVENT_STREAMS_CREDENTIALS: "",
    EVENT_STREAMS_CREDENTIALS_FILE: "",
    ORDERS_TOPIC: name,
    DLQ_TOPIC: dlqTopic,
    CONSUMER_GROUP: name,
    SINK: "local",
    SINK_DIR: sinkDir,
    SINK_LAYOUT: "per-order",
    HTTP_PORT: httpPort,
    KAFKAJS_NO_PARTITIONER_WARNING: "1",
  };
  const settings = loadSettings({ ...Deno.env.toObject(), ...env });
  const deno = Deno.execPath();

  let brokerStarted = false;
  let admin: Admin | undefined;
  let topicsCreated = false;
  let consumer: Deno.ChildProcess | undefined;
  let consumerExit: Promise<Deno.CommandStatus> | undefined;
  let producer: Deno.ChildProcess | undefined;
  let producerOut: Promise<Deno.CommandOutput> | undefined;
  let keepRunning = false;
  let code = 1;
  try {
    brokerStarted = await ensureBroker();
    if (interrupt.signal.aborted) throw new DemoError("Interrupted", "");

    admin = createKafka(settings.kafka, { clientId: "orderflow-demo", logLevel: "none" }).admin();
    try {
      await admin.connect();
      await admin.createTopics({
        topics: [
          { topic: name, numPartitions: 6, replicationFactor: 1 },
          { topic: dlqTopic, numPartitions: 6, replicationFactor: 1 },
        ],
        waitForLeaders: true,
      });
      topicsCreated = true;
    } catch (error) {
      const d = describeKafkaError(error, settings.kafka);
      throw new DemoError(`Cannot create the demo topics: ${d.message}`, d.remedy, {
        cause: error,
      });
    }
    await Deno.mkdir(sinkDir, { recursive: true });
    console.error(
      `demo: topics ${name} + ${dlqTopic} (6 partitions), group ${name}, sink ${sinkDir}`,
    );

    // Children run through bash (the permission set allows "bash", not the deno binary's path,
    // which differs between installs). The consumer logs to a file, not a pipe, so that with
    // --keep it outlives the demo.
    consumer = new Deno.Command("bash", {
      args: [
        "-c",
        'exec "$@" >>"$DEMO_CONSUMER_LOG" 2>&1',
        "bash",
        deno,
        "run",
        "--quiet",
        "-P=consume",
        ...consumeV8Flags(),
        "consumer/main.ts",
        "--from-beginning",
        "--summary-interval",
        "2000",
        ...(options.keep ? [] : ["--max-records", String(options.count)]),
      ],
      env: { ...env, DEMO_CONSUMER_LOG: logPath },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    consumerExit = consumer.status;
    console.error(`demo: consumer started (pid ${consumer.pid}, log ${logPath})`);
    const ready = await consumerReady(logPath, consumerExit, interrupt.signal);
    console.error(`demo: ${ready.replace(/^consumer: /, "consumer ")}`);

    console.error(
      `demo: producing ${options.count} synthetic orders` +
        (options.rate > 0 ? ` at ${options.rate}/s` : " as fast as possible") + "...",
    );
    const startedAtMs = Date.now();
    producer = new Deno.Command("bash", {
      args: [
        "-c",
        'exec "$@"',
        "bash",
        deno,
        "run",
        "--quiet",
        "-P=produce",
        "producer/main.ts",
        "--topic",
        name,
        "--count",
        String(options.count),
        "--rate",
        String(options.rate),
        "--json",
        "--quiet",
      ],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    producerOut = producer.output();

    // Wait: progress every second until every order is stored (or a failure / the timeout).
    const deadline = startedAtMs + options.timeoutS * 1000;
    let produced: number | undefined;
    let producerDone = false;
    let stored = 0;
    let dashboardShown = httpPort === "0";
    let lastProgress = 0;
    let consumerStatus: Deno.CommandStatus | undefined;
    let producerFailure: unknown;
    void consumerExit.then((s) => consumerStatus = s);
    void producerOut.then((out) => {
      producerDone = true;
      const stdout = decoder.decode(out.stdout);
      if (out.code !== 0) {
        throw new DemoError(
          `Cannot produce the demo orders: the producer exited with ${out.code}\n` +
            tail(decoder.decode(out.stderr), 10),
          "See the producer's messages above.",
        );
      }
      try {
        produced = (JSON.parse(stdout) as { acked: number }).acked;
      } catch (error) {
        throw new DemoError(
          `Cannot read the producer's --json summary: ${(error as Error).message}`,
          "Run `deno task produce --count 10 --json` to see what it prints.",
          { cause: error },
        );
      }
      console.error(`demo: producer done: ${produced} orders acknowledged by Kafka`);
    }).catch((error) => {
      producerFailure = error;
    });
    while (true) {
      if (interrupt.signal.aborted) throw new DemoError("Interrupted", "");
      if (producerFailure !== undefined) throw producerFailure;
      stored = await countStoredOrders(sinkDir);
      const now = Date.now();
      if (produced !== undefined && stored >= produced) break;
      if (consumerStatus !== undefined) {
        throw new DemoError(
          `Cannot finish the demo: the consumer exited (code ${consumerStatus.code}) after ` +
            `storing ${stored} of ${options.count} orders\n${tail(await readLog(logPath), 15)}`,
          `See the consumer log ${logPath}.`,
        );
      }
      if (now > deadline) {
        throw new DemoError(
          `Cannot finish the demo: only ${stored} of ${
            produced ?? options.count
          } orders stored after ${options.timeoutS} s\n${tail(await readLog(logPath), 15)}`,
          `Raise --timeout, or see the consumer log ${logPath}.`,
        );
      }
      if (!dashboardShown && await dashboardAnswers(httpPort)) {
        dashboardShown = true;
        console.error(`demo: dashboard: http://127.0.0.1:${httpPort}/  (metrics: /metrics)`);
      }
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        const pct = Math.floor((stored / options.count) * 100);
        console.error(
          `demo: stored ${stored}/${options.count} (${pct}%)` +
            (producerDone ? "" : ", producing..."),
        );
      }
      await delay(200, interrupt.signal);
    }
    const finishedAtMs = Date.now();
    console.error(`demo: all ${stored} orders stored`);

    const deadLettered = await dlqCount(admin, dlqTopic);
    const orders = await readStoredOrders(sinkDir);
    const report = buildDemoReport(orders, {
      produced: produced ?? options.count,
      deadLettered,
      startedAtMs,
      finishedAtMs,
    });
    const sample = orders[0];
    console.log("");
    console.log(formatDemoReport(report));
    console.log("");
    console.log(`Files: ${report.stored} orders under ${sinkDir}/orders/dt=*/orderId=*.json`);
    if (sample !== undefined) {
      console.log(`Sample: ${sinkDir}/${sample.key}`);
      console.log(JSON.stringify(sample.body, null, 2));
    }
    console.log("");
    console.log(
      `Query it: deno task query --dir ${sinkDir} ` +
        `"SELECT channel, count(*) AS orders, round(avg(risk_score), 2) AS risk ` +
        `FROM orders GROUP BY channel ORDER BY channel"`,
    );
    if (options.keep) {
      keepRunning = true;
      console.log(
        `Kept running (--keep): consumer pid ${consumer.pid} (stop: kill ${consumer.pid}), ` +
          `topics ${name} + ${dlqTopic}` +
          (brokerStarted ? ", the broker (stop: deno task kafka:stop)" : "") +
          (httpPort === "0" ? "" : `; dashboard http://127.0.0.1:${httpPort}/ when served`),
      );
    }
    code = 0;
  } catch (error) {
    if (error instanceof DemoError) {
      if (error.message === "Interrupted") {
        console.error("demo: interrupted; stopping what the demo started");
        code = 130;
      } else {
        console.error(`demo: ${error.message}${error.remedy === "" ? "" : `\n${error.remedy}`}`);
        code = 1;
      }
    } else {
      console.error(`demo: failed unexpectedly: ${(error as Error)?.stack ?? String(error)}`);
      code = 1;
    }
  } finally {
    if (producer !== undefined && producerOut !== undefined) {
      // On failure or Ctrl-C the producer may still be sending: stop it (it flushes and exits).
      if (!await settlesWithin(producerOut, 0)) {
        try {
          producer.kill("SIGTERM");
        } catch (error) {
          if (!(error instanceof TypeError)) console.error(`demo: ${(error as Error).message}`);
        }
        await producerOut;
        console.error("demo: producer stopped");
      }
    }
    if (!keepRunning) {
      if (consumer !== undefined && consumerExit !== undefined) {
        await stopConsumer(consumer, consumerExit, code === 0 ? 15_000 : 0);
      }
      if (admin !== undefined && topicsCreated) {
        await admin.deleteTopics({ topics: [name, dlqTopic] }).catch((error) =>
          console.error(`demo: could not delete the demo topics: ${(error as Error).message}`)
        );
        await admin.deleteGroups([name]).catch((error) =>
          console.error(`demo: could not delete the demo group: ${(error as Error).message}`)
        );
      }
      await admin?.disconnect();
      if (brokerStarted) await stopBroker();
      else console.error("demo: left the local Kafka broker running (it was running before)");
    } else {
      consumer?.unref();
      await admin?.disconnect();
    }
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
