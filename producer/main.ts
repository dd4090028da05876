/**
 * `deno task produce`: publish synthetic or file/stdin orders to Kafka, with delivery reports,
 * progress on stderr, a summary (optionally JSON on stdout) and meaningful exit codes:
 * 0 all acknowledged, 1 some failed or invalid, 2 usage or settings error.
 *
 * @module
 */

import { onStopSignals, writeAllSync } from "../cli/process_io.ts";
import { EXIT, runTask, settingsOrUsage, SIGNAL_EXIT, UsageError } from "../cli/usage.ts";
import { type ProducerMetricsServer, startProducerMetrics } from "./http.ts";
import { describePatchReport, installKafkajsPatches } from "../kafkajs_patches/mod.ts";
import { createKafka, describeKafkaError } from "../clients/kafka.ts";
import { loadSettings } from "../config/settings.ts";
import { HELP, parseCli } from "./cli.ts";
import { openFileInput } from "./input.ts";
import {
  connectFailureText,
  deliveryLine,
  formatSummary,
  LineBuffer,
  summaryJson,
} from "./output.ts";
import { Pacer } from "./pacer.ts";
import { newAckLatency, ProduceRun, type ProduceSummary } from "./produce.ts";
import { Progress } from "./progress.ts";
import { type DeliveryReport, KafkaPublisher, type Publisher } from "./publisher.ts";
import { type SourceItem, syntheticSource } from "./sources.ts";
import { SyntheticOrders } from "./synthetic.ts";
import { ScoringHost } from "../plugins_host/host.ts";
import { type ChannelMix, mixForChannels } from "./channel_mix.ts";
import {
  EdgePublisher,
  edgeSummaryJson,
  enabledChannels,
  followPluginChannels,
  formatEdgeSummary,
} from "./edge.ts";

/** Where the CLI reads and writes; the real process by default, swappable in tests. */
export interface MainIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: ReadableStream<Uint8Array>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stderrIsTerminal: boolean;
  /** Register SIGINT/SIGTERM; returns an unregister function. */
  readonly onSignal: (handler: (signal: "SIGINT" | "SIGTERM") => void) => () => void;
}

const MAX_INVALID_LINES_SHOWN = 1000;

/** Runs the CLI; resolves with the exit code (cli/usage.ts: 0, 1, 2, 130/143). */
export function main(args: readonly string[], io: MainIo = processIo()): Promise<number> {
  return runTask("produce", () => produce(args, io), io.stderr);
}

async function produce(args: readonly string[], io: MainIo): Promise<number> {
  const cli = parseCli(args);
  if (cli.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const settings = settingsOrUsage(() => loadSettings(producerEnv(io.env)));
  const topic = cli.topic ?? settings.topics.orders;

  let source: Iterable<SourceItem> | AsyncIterable<SourceItem> | undefined;
  let sourceName = "synthetic";
  let file: Deno.FsFile | undefined;
  let generator: SyntheticOrders | undefined;
  if (cli.file !== undefined) {
    const input = await openFileInput(cli.file, {
      stdin: io.stdin,
      validate: cli.validate,
      count: cli.count,
    });
    ({ source, name: sourceName, file } = input);
  }

  const progress = new Progress({
    write: io.stderr,
    tty: io.stderrIsTerminal,
    intervalMs: cli.progressIntervalS * 1000,
    ...(cli.file === undefined && cli.count !== undefined ? { total: cli.count } : {}),
    ...(cli.durationS === undefined ? {} : { durationMs: cli.durationS * 1000 }),
    counts: () => run.counts(),
  });
  const log = (line: string) => progress.log(line);
  const kafkajsPatches = installKafkajsPatches();
  if (!cli.quiet) log(describePatchReport(kafkajsPatches));
  const run = new ProduceRun();

  // The scoring host: to score at the edge, and to know the channels synthetic orders come
  // from when --mix is not given (a discovered file's channel is known only once it loaded).
  let host: ScoringHost | undefined;
  let stopFollowing: (() => void) | undefined;
  const closeHost = async () => {
    stopFollowing?.();
    await host?.close();
  };
  if (cli.score || (cli.file === undefined && cli.mix === undefined)) {
    try {
      host = await ScoringHost.start({ pluginsDir: settings.pluginsDir, watch: true, log });
    } catch (error) {
      // An invalid manifest (ManifestError) or a directory that is not there (NotFound).
      file?.close();
      const why = error instanceof Error ? error.message : String(error);
      throw new UsageError(`Cannot load the scoring plugins from ${settings.pluginsDir}: ${why}`, {
        cause: error,
        remedy: `Fix the manifest (deno task plugins validate), point PLUGINS_DIR at the plugins` +
          (cli.score ? "" : ", or choose the channels with --mix") + `.`,
      });
    }
  }
  if (cli.file === undefined) {
    let mix: ChannelMix | undefined = cli.mix;
    let channels: readonly string[] = [];
    if (mix === undefined && host !== undefined) {
      channels = enabledChannels(host.status());
      mix = mixForChannels(channels);
      if (mix === undefined) {
        await closeHost();
        throw new UsageError(
          `Cannot choose channels for synthetic orders: the plugins in ${host.pluginsDir} ` +
            `serve no channel (every scorer is disabled or failed)`,
          { remedy: "Enable a scorer in its manifest.json, or choose the channels with --mix." },
        );
      }
    }
    const synthetic = new SyntheticOrders({
      ...(cli.seed === undefined ? {} : { seed: cli.seed }),
      ...(mix === undefined ? {} : { mix }),
    });
    generator = synthetic;
    source = syntheticSource(synthetic, cli.count, { withOrder: cli.score });
    if (cli.mix === undefined && host !== undefined) {
      stopFollowing = followPluginChannels(host, synthetic, channels, log);
    }
  }
  if (source === undefined) throw new TypeError("Cannot produce: no source (a bug)");
  const orders = source;
  const ackLatency = newAckLatency();
  let edge: EdgePublisher | undefined; // set once Kafka is connected, with --score
  let metricsServer: ProducerMetricsServer | undefined;
  if (cli.metricsPort !== undefined) {
    try {
      metricsServer = startProducerMetrics({
        counts: () => run.counts(),
        ackLatency,
        edge: () => cli.score ? edge?.counts() ?? new Map() : undefined,
      }, { port: cli.metricsPort });
    } catch (error) {
      file?.close();
      await closeHost();
      throw new UsageError(
        `Cannot serve metrics on 127.0.0.1:${cli.metricsPort}: ${(error as Error).message}`,
        { cause: error, remedy: "Choose a free port with --metrics-port (0 picks one)." },
      );
    }
    log(`metrics: ${metricsServer.url}/metrics`);
  }

  const interrupt = new AbortController();
  let signals = 0;
  const offSignal = io.onSignal((signal) => {
    signals++;
    if (signals === 1) {
      log(`${signal}: stopping input, delivering what is in flight (again to quit at once)`);
      interrupt.abort();
    } else {
      const c = run.counts();
      io.stderr(
        `\n${signal} again: quitting; ${
          c.sent - c.acked - c.failed
        } records in flight unconfirmed\n`,
      );
      Deno.exit(SIGNAL_EXIT[signal]);
    }
  });

  const kafka = createKafka(settings.kafka, {
    clientId: `${settings.kafka.clientId}-producer`,
    logLevel: settings.logLevel === "debug" ? "debug" : "none",
    log,
    connectionTimeout: Math.min(10_000, cli.timeoutS * 1000),
    retry: { retries: cli.retries, initialRetryTime: 300, maxRetryTime: 5_000 },
  });
  const connectStarted = performance.now();
  let connectMs = 0;
  let publisher: Publisher;
  const connect = (to: string) =>
    KafkaPublisher.connect({
      kafka,
      topic: to,
      idempotent: cli.idempotent,
      retries: cli.retries,
      deliveryTimeoutMs: cli.timeoutS * 1000,
    });
  let main: KafkaPublisher | undefined;
  try {
    main = await connect(topic);
    connectMs = performance.now() - connectStarted;
    publisher = main;
    if (cli.score && host !== undefined) {
      const scorer = host;
      edge = new EdgePublisher({
        main,
        score: (list) => scorer.score(list),
        ...(cli.holdAbove === undefined ? {} : {
          hold: {
            publisher: await connect(cli.holdTopic),
            topic: cli.holdTopic,
            above: cli.holdAbove,
          },
        }),
      });
      publisher = edge;
    }
  } catch (error) {
    offSignal();
    file?.close();
    await main?.close().catch(() => {});
    await metricsServer?.close();
    await closeHost();
    const seconds = ((performance.now() - connectStarted) / 1000).toFixed(1);
    io.stderr(connectFailureText(error, cli, topic, settings.kafka, seconds));
    if (cli.json) {
      io.stdout(
        `${JSON.stringify({ topic, error: (error as Error).message, sent: 0, acked: 0 })}\n`,
      );
    }
    return EXIT.failure;
  }

  if (!cli.quiet) {
    log(
      `producing to "${topic}" on ${settings.kafka.brokers.join(",")} ` +
        `(${settings.kafka.securityProtocol}) from ${sourceName}` +
        (generator === undefined ? "" : ` (seed ${generator.seed}; channels ${generator.mix})`) +
        (cli.score ? `, scoring at the edge with ${host?.pluginsDir}` : "") +
        (cli.holdAbove === undefined
          ? ""
          : `, holding scores above ${cli.holdAbove} in "${cli.holdTopic}"`) +
        `: batch ${cli.batchSize}, linger ${cli.lingerMs} ms, in flight ${cli.maxInFlight}, ` +
        `idempotent ${cli.idempotent ? "on" : "off"}`,
    );
    progress.start();
  }

  const deliveries = cli.deliveries ? new LineBuffer(io.stdout) : undefined;
  let invalidShown = 0;
  let summary: ProduceSummary;
  let closeMs = 0;
  try {
    summary = await run.run({
      source: orders,
      publisher,
      lingerMs: cli.lingerMs,
      batchSize: cli.batchSize,
      maxInFlight: cli.maxInFlight,
      ...(cli.rate > 0 ? { pacer: new Pacer({ rate: cli.rate }) } : {}),
      ...(cli.durationS === undefined ? {} : { durationMs: cli.durationS * 1000 }),
      signal: interrupt.signal,
      latency: ackLatency,
      onInvalid: (line, reason) => {
        if (invalidShown++ < MAX_INVALID_LINES_SHOWN) {
          log(`${sourceName}:${line}: invalid order, not sent: ${reason}`);
        } else if (invalidShown === MAX_INVALID_LINES_SHOWN + 1) {
          log(`(more invalid lines: not shown; see the summary count)`);
        }
      },
      ...(deliveries === undefined
        ? {}
        : { onDelivery: (report: DeliveryReport) => deliveries.push(deliveryLine(report)) }),
      onStop: (reason, error) => {
        if (reason === "failure") {
          const d = describeKafkaError(error, settings.kafka);
          log(`delivery failed, stopping input: ${d.message}`);
        } else if (reason === "duration") {
          log(`--duration ${cli.durationS} s reached, stopping input`);
        }
      },
    });
  } finally {
    progress.stop();
    deliveries?.flush();
    offSignal();
    const closeStarted = performance.now();
    await closeWithin(publisher, 5_000, log);
    closeMs = performance.now() - closeStarted;
    await metricsServer?.close();
    await closeHost();
    try {
      file?.close();
    } catch {
      // Already closed by the stream reaching its end.
    }
  }

  io.stderr(formatSummary(summary, topic));
  const hold = cli.holdAbove === undefined
    ? undefined
    : { topic: cli.holdTopic, above: cli.holdAbove };
  if (edge !== undefined) io.stderr(formatEdgeSummary(edge.counts(), hold));
  if (summary.firstError !== undefined) {
    const d = describeKafkaError(summary.firstError, settings.kafka);
    io.stderr(`error: ${summary.failed} records not acknowledged: ${d.message}\n${d.remedy}\n`);
  }
  if (cli.json) {
    const edgeFields = edge === undefined ? {} : edgeSummaryJson(edge.counts(), hold);
    io.stdout(
      `${
        JSON.stringify({
          ...summaryJson(summary, topic, cli, { connectMs, closeMs }),
          ...edgeFields,
        })
      }\n`,
    );
  }
  return summary.failed > 0 || summary.invalid > 0 ? EXIT.failure : EXIT.ok;
}

/**
 * Consumer-only variables: a broken sink setting must not stop the producer. `PLUGINS_DIR` is
 * shared: the producer scores with the same plugins and draws synthetic channels from them.
 */
const CONSUMER_ONLY = /^(SINK|SINK_[A-Z_]+|COS_[A-Z_]+|HTTP_HOST|HTTP_PORT|CONSUMER_GROUP)$/;

/** The environment without the consumer-only variables (the producer reads only its own). */
export function producerEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !CONSUMER_ONLY.test(name)));
}

async function closeWithin(
  publisher: Publisher,
  ms: number,
  log: (line: string) => void,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      publisher.close(),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log(`warning: Kafka disconnect did not finish within ${ms} ms; exiting anyway`);
          resolve();
        }, ms);
      }),
    ]);
  } catch (error) {
    log(`warning: Kafka disconnect failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

function processIo(): MainIo {
  return {
    env: Deno.env.toObject(),
    stdin: Deno.stdin.readable,
    stdout: (text) => writeAllSync(Deno.stdout, text),
    stderr: (text) => writeAllSync(Deno.stderr, text),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    onSignal: onStopSignals,
  };
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
