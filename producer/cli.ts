/**
 * Command-line parsing for `deno task produce`: flags, defaults, checks, and the help text.
 *
 * @module
 */

import { numberFlag, parseFlags, UsageError } from "../cli/usage.ts";
import { ChannelMix, DEFAULT_CHANNEL_MIX } from "./channel_mix.ts";
import { DEFAULT_HOLD_TOPIC } from "./edge.ts";

/** Defaults of the delivery flags (also shown in `--help`). */
export const CLI_DEFAULTS = Object.freeze({
  count: 1000,
  rate: 0,
  batchSize: 500,
  lingerMs: 20,
  maxInFlight: 5,
  idempotent: false,
  retries: 5,
  timeoutS: 30,
  progressIntervalS: 5,
});

/** Parsed and checked command line. */
export interface CliOptions {
  readonly help: boolean;
  /** `undefined`: synthetic orders; `"-"`: stdin; else a file path. */
  readonly file?: string;
  /** Records to send (synthetic default 1000; unlimited with `--duration` or a file). */
  readonly count?: number;
  readonly durationS?: number;
  readonly rate: number;
  readonly seed?: number;
  /** `--mix`; undefined: synthetic orders follow the plugins' enabled channels. */
  readonly mix?: ChannelMix;
  /** Score each order at the edge (`--score`, implied by `--hold-above`). */
  readonly score: boolean;
  /** `--hold-above`: orders scoring above it go to {@linkcode CliOptions.holdTopic}. */
  readonly holdAbove?: number;
  /** `--hold-topic` (default {@linkcode DEFAULT_HOLD_TOPIC}). */
  readonly holdTopic: string;
  readonly validate: boolean;
  /** Topic override (default: settings `ORDERS_TOPIC`). */
  readonly topic?: string;
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly maxInFlight: number;
  readonly idempotent: boolean;
  readonly retries: number;
  readonly timeoutS: number;
  readonly json: boolean;
  readonly deliveries: boolean;
  readonly quiet: boolean;
  readonly progressIntervalS: number;
  /** Serve Prometheus `/metrics` on 127.0.0.1:<port> while running (0 = a free port). */
  readonly metricsPort?: number;
}

/** The `--help` text. */
export const HELP =
  `deno task produce — publish JSON orders to Kafka (IBM Event Streams or the local broker)

Usage:
  deno task produce [options]                   synthetic orders (default ${CLI_DEFAULTS.count})
  deno task produce --file orders.jsonl [opts]  JSON lines from a file
  deno task produce --file - [opts] < in.jsonl  JSON lines from stdin

Source:
  --count N             records to send (synthetic default ${CLI_DEFAULTS.count}; unlimited with
                        --duration; with --file: stop after N input lines)
  --duration S          stop reading input after S seconds (decimals allowed)
  --rate R              records per second, 0 = as fast as possible (default ${CLI_DEFAULTS.rate})
  --seed N              reproducible synthetic orders: same seed, same IDs and contents
  --mix SPEC            synthetic channel mix, any channel names (default: the channels the
                        plugins serve — $PLUGINS_DIR, else ./plugins: manifest.json's enabled
                        entries and discovered files — followed live during the run; known
                        channels weigh as in ${DEFAULT_CHANNEL_MIX}, others 0.1)
  --file PATH | -       read JSON lines (one order per line) from PATH, or stdin with "-"
  --no-validate         send input lines as they are, without Order.fromRaw (key = orderId if
                        readable, else null): exercises the consumer's dead-letter path

Edge scoring (the consumer's scoring plugins: same manifest, sandbox and limits, hot reload):
  --score               score each order before publishing; headers risk.score, risk.scorer
                        (and risk.fallback=<why> when the fallback scored it)
  --hold-above X        orders scoring above X (0..1) go to the hold topic instead; the summary
                        counts them per channel (implies --score)
  --hold-topic NAME     the hold topic (default "${DEFAULT_HOLD_TOPIC}"; must exist)

Delivery (acks=all, snappy, key = orderId, headers produced_at + schema):
  --topic NAME          topic to publish to (default $ORDERS_TOPIC, else "orders")
  --batch-size N        most records per send (default ${CLI_DEFAULTS.batchSize})
  --linger-ms MS        wait up to MS for a batch to fill (default ${CLI_DEFAULTS.lingerMs})
  --max-in-flight N     most sends awaiting acknowledgement; input waits beyond (default ${CLI_DEFAULTS.maxInFlight})
  --idempotent          kafkajs idempotent producer (no duplicates from retries; one request
                        in flight; experimental in kafkajs)   [default: --no-idempotent]
  --retries N           retries per send with exponential backoff (default ${CLI_DEFAULTS.retries};
                        with --idempotent kafkajs retries until --timeout)
  --timeout S           give up connecting, or on one send with its retries, after S seconds
                        (default ${CLI_DEFAULTS.timeoutS})

Output (logs and progress on stderr, data on stdout):
  --json                print the final summary as JSON on stdout
  --deliveries          print one JSON line per record on stdout: acked (partition, offset,
                        latency_ms) or failed (error)
  --quiet               no progress output
  --progress-interval S seconds between progress lines when stderr is not a terminal (default ${CLI_DEFAULTS.progressIntervalS})
  --metrics-port P      serve Prometheus /metrics on 127.0.0.1:P while running (sent, acked,
                        failed counters; ack latency histogram)
  -h, --help            show this help

Connection settings come from the environment / .env: KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL,
KAFKA_USERNAME, KAFKA_PASSWORD (or KAFKA_API_KEY), KAFKA_CA_FILE, EVENT_STREAMS_CREDENTIALS(_FILE),
ORDERS_TOPIC, LOG_LEVEL; the scorer plugins from PLUGINS_DIR (default ./plugins).

Exit status: 0 all records acknowledged; 1 some failed (or input invalid); 2 usage or settings error.
Ctrl-C / SIGTERM: stop reading, deliver what is in flight, print the summary (twice: quit at once).

Examples:
  deno task produce --count 10000 --rate 1000
  deno task produce --seed 42 --count 100 --mix web=0.5,mobile=0.3,kiosk=0.2
  deno task produce --duration 60 --rate 50 --json > summary.json
  deno task produce --duration 300 --rate 20 --hold-above 0.7     # edge scores, review topic
  deno task produce --file orders.jsonl
  deno task produce --file - --no-validate < broken.jsonl
  set -a; . .run/kafka/sasl.env; set +a; deno task produce --count 100   # local SASL_SSL
`;

/**
 * Parse `args` (without the program name). Throws {@linkcode UsageError} for unknown flags,
 * positionals, and bad values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCli } from "./cli.ts";
 * const options = parseCli(["--count", "5", "--no-validate", "--file", "-"]);
 * assert.equal(options.count, 5);
 * assert.equal(options.validate, false);
 * assert.equal(options.file, "-");
 * ```
 */
export function parseCli(args: readonly string[]): CliOptions {
  const { values: v } = parseFlags(args, {
    string: [
      "file",
      "count",
      "duration",
      "rate",
      "seed",
      "mix",
      "hold-above",
      "hold-topic",
      "topic",
      "batch-size",
      "linger-ms",
      "max-in-flight",
      "retries",
      "timeout",
      "progress-interval",
      "metrics-port",
    ],
    boolean: ["score", "validate", "idempotent", "json", "deliveries", "quiet"],
    negatable: true,
  });
  const mix = (() => {
    if (v.mix === undefined) return undefined;
    try {
      return ChannelMix.parse(v.mix);
    } catch (error) {
      throw new UsageError(`Invalid --mix: ${(error as Error).message}`, { cause: error });
    }
  })();
  const fromFile = v.file !== undefined;
  if (v.file === "") throw new UsageError(`Invalid --file: empty path (use "-" for stdin)`);
  if (fromFile && (v.seed !== undefined || v.mix !== undefined)) {
    throw new UsageError(
      `Cannot combine --file with --seed or --mix (they shape synthetic orders)`,
    );
  }
  if (!fromFile && v.validate === false) {
    throw new UsageError(`Cannot use --no-validate without --file (synthetic orders are valid)`);
  }
  const holdAbove = numberFlag("--hold-above", v["hold-above"], {
    min: 0,
    max: 1,
    integer: false,
  });
  if (v["hold-topic"] !== undefined && holdAbove === undefined) {
    throw new UsageError(`Cannot use --hold-topic without --hold-above (nothing would be held)`);
  }
  const score = (v.score ?? false) || holdAbove !== undefined;
  if (score && v.validate === false) {
    throw new UsageError(
      `Cannot combine --score or --hold-above with --no-validate (scorers need valid orders)`,
    );
  }
  const durationS = numberFlag("--duration", v.duration, { min: 0, integer: false });
  if (durationS === 0) throw new UsageError(`Invalid --duration: must be > 0`);
  const count = numberFlag("--count", v.count, { min: 0, integer: true });
  return Object.freeze({
    help: v.help ?? false,
    ...(v.file === undefined ? {} : { file: v.file }),
    ...(count !== undefined
      ? { count }
      : !fromFile && durationS === undefined
      ? { count: CLI_DEFAULTS.count }
      : {}),
    ...(durationS === undefined ? {} : { durationS }),
    rate: numberFlag("--rate", v.rate, { min: 0, integer: false }) ?? CLI_DEFAULTS.rate,
    ...(v.seed === undefined
      ? {}
      : { seed: numberFlag("--seed", v.seed, { min: 0, max: 0xffffffff, integer: true }) }),
    ...(mix === undefined ? {} : { mix }),
    score,
    ...(holdAbove === undefined ? {} : { holdAbove }),
    holdTopic: v["hold-topic"] === undefined
      ? DEFAULT_HOLD_TOPIC
      : checkTopicName(v["hold-topic"], "--hold-topic"),
    validate: v.validate ?? true,
    ...(v.topic === undefined ? {} : { topic: checkTopicName(v.topic) }),
    batchSize:
      numberFlag("--batch-size", v["batch-size"], { min: 1, max: 100_000, integer: true }) ??
        CLI_DEFAULTS.batchSize,
    lingerMs: numberFlag("--linger-ms", v["linger-ms"], { min: 0, max: 60_000, integer: false }) ??
      CLI_DEFAULTS.lingerMs,
    maxInFlight:
      numberFlag("--max-in-flight", v["max-in-flight"], { min: 1, max: 1000, integer: true }) ??
        CLI_DEFAULTS.maxInFlight,
    idempotent: v.idempotent ?? CLI_DEFAULTS.idempotent,
    retries: numberFlag("--retries", v.retries, { min: 0, max: 100, integer: true }) ??
      CLI_DEFAULTS.retries,
    timeoutS: numberFlag("--timeout", v.timeout, { min: 0.1, max: 3600, integer: false }) ??
      CLI_DEFAULTS.timeoutS,
    json: v.json ?? false,
    deliveries: v.deliveries ?? false,
    quiet: v.quiet ?? false,
    progressIntervalS: numberFlag("--progress-interval", v["progress-interval"], {
      min: 0.1,
      max: 3600,
      integer: false,
    }) ?? CLI_DEFAULTS.progressIntervalS,
    ...(v["metrics-port"] === undefined ? {} : {
      metricsPort: numberFlag("--metrics-port", v["metrics-port"], {
        min: 0,
        max: 65535,
        integer: true,
      }),
    }),
  }) as CliOptions;
}

function checkTopicName(topic: string, flag = "--topic"): string {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) {
    throw new UsageError(
      `Invalid ${flag}: "${topic}" is not a Kafka topic name (a-z A-Z 0-9 . _ -)`,
    );
  }
  return topic;
}
