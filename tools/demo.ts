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
 * Exit codes (cli/usage.ts): 0 every order stored, 1 the demo failed (the message says why), 2
 * bad arguments, 130 / 143 interrupted by SIGINT / SIGTERM.
 *
 * @module
 */
import { onStopSignals } from "../cli/process_io.ts";
import { EXIT, numberFlag, parseFlags, runTask, SIGNAL_EXIT } from "../cli/usage.ts";
import { consumeV8Flags } from "./consume_flags.ts";
import { delay } from "../core/async.ts";
import type { Admin } from "kafkajs";
import { createKafka, describeKafkaError } from "../clients/kafka.ts";
import { loadSettings } from "../config/settings.ts";
import { buildDemoReport, formatDemoReport } from "./demo_report.ts";
import {
  choosePort,
  consumerReady,
  dashboardAnswers,
  decoder,
  DemoError,
  dlqCount,
  ensureBroker,
  readLog,
  settlesWithin,
  spawnDeno,
  stopBroker,
  stopConsumer,
  tail,
} from "./demo_processes.ts";
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
Exit codes: 0 every order stored, 1 demo failed, 2 bad arguments, 130 interrupted
(143: SIGTERM).`;

/** Demo command line. */
interface DemoOptions {
  readonly count: number;
  readonly rate: number;
  readonly timeoutS: number;
  readonly keep: boolean;
}

function parseOptions(args: readonly string[]): DemoOptions | "help" {
  const { values } = parseFlags(args, { string: ["count", "rate", "timeout"], boolean: ["keep"] });
  if (values.help) return "help";
  return {
    count: numberFlag("--count", values.count, { min: 1, integer: true }) ?? 5000,
    rate: numberFlag("--rate", values.rate, { min: 0, integer: true }) ?? 1000,
    timeoutS: numberFlag("--timeout", values.timeout, { min: 1, integer: true }) ?? 120,
    keep: values.keep ?? false,
  };
}

function stamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-26T20:45:01.123Z
  return `${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}`;
}

/** Runs the demo; resolves with the exit code. */
async function main(args: readonly string[]): Promise<number> {
  const options = parseOptions(args);
  if (options === "help") {
    console.log(HELP);
    return EXIT.ok;
  }

  const interrupt = new AbortController();
  let stoppedBy: "SIGINT" | "SIGTERM" = "SIGINT";
  const offSignals = onStopSignals((signal) => {
    stoppedBy = signal;
    interrupt.abort();
  });

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

  let brokerStarted = false;
  let admin: Admin | undefined;
  let topicsCreated = false;
  let consumer: Deno.ChildProcess | undefined;
  let consumerExit: Promise<Deno.CommandStatus> | undefined;
  let producer: Deno.ChildProcess | undefined;
  let producerOut: Promise<Deno.CommandOutput> | undefined;
  let keepRunning = false;
  let code: number = EXIT.failure;
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

    consumer = spawnDeno(
      [
        "-P=consume",
        ...consumeV8Flags(),
        "consumer/main.ts",
        "--from-beginning",
        "--summary-interval",
        "2000",
        ...(options.keep ? [] : ["--max-records", String(options.count)]),
      ],
      env,
      logPath,
    );
    consumerExit = consumer.status;
    console.error(`demo: consumer started (pid ${consumer.pid}, log ${logPath})`);
    const ready = await consumerReady(logPath, consumerExit, interrupt.signal);
    console.error(`demo: ${ready.replace(/^consumer: /, "consumer ")}`);

    console.error(
      `demo: producing ${options.count} synthetic orders` +
        (options.rate > 0 ? ` at ${options.rate}/s` : " as fast as possible") + "...",
    );
    const startedAtMs = Date.now();
    producer = spawnDeno([
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
    ], env);
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
    code = EXIT.ok;
  } catch (error) {
    if (error instanceof DemoError) {
      if (error.message === "Interrupted") {
        console.error("demo: interrupted; stopping what the demo started");
        code = SIGNAL_EXIT[stoppedBy];
      } else {
        console.error(`demo: ${error.message}${error.remedy === "" ? "" : `\n${error.remedy}`}`);
        code = EXIT.failure;
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
        await stopConsumer(consumer, consumerExit, code === EXIT.ok ? 15_000 : 0);
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
    offSignals();
  }
  return code;
}

if (import.meta.main) {
  Deno.exit(await runTask("demo", () => main(Deno.args)));
}
