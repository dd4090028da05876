/**
 * Command-line parsing for `deno task dlq`: the subcommands, their flags, checks, and the help.
 *
 * @module
 */
import { numberFlag, parseFlags, UsageError } from "../cli/usage.ts";
import type { RecordFilter } from "./record.ts";
import { DEFAULT_MAX_CHARS } from "./show.ts";

/** Defaults shown in `--help`. */
export const DLQ_DEFAULTS = Object.freeze({
  limit: 20,
  maxChars: DEFAULT_MAX_CHARS,
  timeoutS: 30,
  progressIntervalS: 5,
  groupSuffix: ".dlq-redrive",
});

/** The parsed command line. */
export type DlqCommand =
  | { readonly command: "help" }
  | { readonly command: "stats"; readonly common: CommonOptions }
  | {
    readonly command: "show";
    readonly common: CommonOptions;
    readonly filter: RecordFilter;
    readonly limit: number;
    readonly maxChars: number;
  }
  | {
    readonly command: "redrive";
    readonly common: CommonOptions;
    readonly filter: RecordFilter;
    readonly dryRun: boolean;
    /** Redrive consumer group (default `<CONSUMER_GROUP>.dlq-redrive`). */
    readonly group?: string;
  };

/** Flags every subcommand takes. */
export interface CommonOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Give up when reading makes no progress for this long, or a send is not acknowledged. */
  readonly timeoutMs: number;
  /** Time between progress lines on stderr. */
  readonly progressIntervalMs: number;
}

/** The `--help` text. */
export const HELP = `deno task dlq — inspect the dead-letter topic (DLQ_TOPIC) and redrive it

Usage:
  deno task dlq stats [--json]
  deno task dlq show [--reason R] [--limit N] [--max-chars N] [--json]
  deno task dlq redrive [--reason R] [--since T] [--until T] [--dry-run] [--group G] [--json]

Commands:
  stats     counts by dlq.reason and by source partition, oldest and newest failure, how many
            failed again after a redrive, one sample per reason (escaped, truncated). Reads the
            whole topic; commits nothing.
  show      the first N records (topic order per partition) with their headers and, for a
            record that failed again after a redrive, the dead letter it came from; the value is
            pretty-printed when it is JSON. Commits nothing.
  redrive   republish the original bytes and headers (without the dlq.* ones, plus
            dlq.redriven_from=<partition>@<offset>) to ORDERS_TOPIC, acks=all, idempotent
            producer; then commit, in its own consumer group, what was acknowledged. A second run
            never resends what an earlier one had acknowledged. Records the filters leave out
            stay for a later redrive. Truncated copies (dlq.truncated) are never sent: the whole
            record is in the source topic at dlq.source.partition/offset. Reads up to the end
            offsets taken at start. Records still invalid return to the dead-letter topic through
            the consumer.

Options:
  --reason R        only records whose dlq.reason is R (empty, oversized, undecodable,
                    invalid_json, invalid_order, unsafe_order_id,
                    sink_rejected)
  --since T         redrive: only records that failed at or after T
  --until T         redrive: only records that failed before T
                    T is ISO-8601 (2026-12-06, 2026-12-06T03:00:00Z) or an age: 30m, 2h, 7d
  --dry-run         redrive: report what would be sent; send and commit nothing
  --group G         redrive: consumer group keeping what was sent
                    (default <CONSUMER_GROUP>${DLQ_DEFAULTS.groupSuffix})
  --limit N         show: records to show (default ${DLQ_DEFAULTS.limit})
  --max-chars N     show: longest value shown per record (default ${DLQ_DEFAULTS.maxChars})
  --json            machine-readable output on stdout (show: one JSON object per line)
  --quiet           no progress lines on stderr
  --progress-interval S
                    seconds between progress lines (default ${DLQ_DEFAULTS.progressIntervalS})
  --timeout S       fail when reading makes no progress, or a send is not acknowledged, for S
                    seconds (default ${DLQ_DEFAULTS.timeoutS})
  -h, --help        show this help

Settings (environment / .env): KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_USERNAME,
KAFKA_PASSWORD (or KAFKA_API_KEY), KAFKA_CA_FILE, EVENT_STREAMS_CREDENTIALS(_FILE), DLQ_TOPIC,
ORDERS_TOPIC, CONSUMER_GROUP, LOG_LEVEL.

Ctrl-C / SIGTERM: stop after the current batch (redrive: its sends acknowledged and committed),
leave the group, exit 130 / 143. Twice: quit at once; a batch sent but not yet committed is then
sent again by the next redrive (at-least-once; the consumer's per-order writes overwrite).

Exit status: 0 done; 1 failure (Kafka, a topic missing, a send not acknowledged, records deferred);
2 usage or settings error; 130 / 143 stopped by SIGINT / SIGTERM.

Examples:
  deno task dlq stats
  deno task dlq show --reason invalid_order --limit 5
  deno task dlq redrive --reason invalid_order --dry-run
  deno task dlq redrive --reason invalid_order --since 2h
`;

const AGE = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

/**
 * Parses a `--since` / `--until` time: ISO-8601 with at least a date, or an age before `now`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTime } from "./cli.ts";
 * assert.equal(parseTime("--since", "2h", 10 * 3600e3), 8 * 3600e3);
 * assert.equal(parseTime("--since", "2026-12-06", 0), Date.parse("2026-12-06"));
 * ```
 */
export function parseTime(flag: string, text: string, now: number): number {
  const age = AGE.exec(text.trim());
  if (age !== null) return now - Number(age[1]) * UNIT_MS[age[2]!]!;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `Invalid ${flag}: "${text}" is neither an ISO-8601 time (2026-12-06T03:00:00Z) nor an age (30m, 2h, 7d)`,
    );
  }
  return ms;
}

/**
 * Parses `args` (without the program name). Throws {@linkcode UsageError} for an unknown
 * command, unknown flags, flags of another command and bad values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCli } from "./cli.ts";
 * const c = parseCli(["redrive", "--reason", "invalid_order", "--dry-run"], 0);
 * assert.equal(c.command, "redrive");
 * assert.ok(c.command === "redrive" && c.dryRun && c.filter.reason === "invalid_order");
 * ```
 */
export function parseCli(args: readonly string[], now: number = Date.now()): DlqCommand {
  const { values: v, positionals } = parseFlags(args, {
    string: [
      "reason",
      "since",
      "until",
      "group",
      "limit",
      "max-chars",
      "timeout",
      "progress-interval",
    ],
    boolean: ["dry-run", "json", "quiet"],
    positionals: true,
  });
  if (v.help) return { command: "help" };
  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError("Cannot run: no command (stats, show, redrive)");
  if (extra.length > 0) throw new UsageError(`Cannot run: unexpected argument "${extra[0]}"`);
  if (command !== "stats" && command !== "show" && command !== "redrive") {
    throw new UsageError(`Cannot run "${command}": not a command (stats, show, redrive)`);
  }
  const allowed: Record<string, readonly string[]> = {
    stats: [],
    show: ["reason", "limit", "max-chars"],
    redrive: ["reason", "since", "until", "dry-run", "group"],
  };
  for (const flag of ["reason", "since", "until", "dry-run", "group", "limit", "max-chars"]) {
    if ((v as Record<string, unknown>)[flag] !== undefined && !allowed[command]!.includes(flag)) {
      throw new UsageError(`Cannot use --${flag} with ${command}`);
    }
  }
  const timeoutS = numberFlag("--timeout", v.timeout, { min: 0.1, max: 3600, integer: false }) ??
    DLQ_DEFAULTS.timeoutS;
  const progressS = numberFlag("--progress-interval", v["progress-interval"], {
    min: 0.01,
    max: 3600,
    integer: false,
  }) ?? DLQ_DEFAULTS.progressIntervalS;
  const common: CommonOptions = {
    json: v.json ?? false,
    quiet: v.quiet ?? false,
    timeoutMs: timeoutS * 1000,
    progressIntervalMs: progressS * 1000,
  };
  if (v.reason === "") throw new UsageError("Invalid --reason: empty");
  const filter: RecordFilter = {
    ...(v.reason === undefined ? {} : { reason: v.reason }),
    ...(v.since === undefined ? {} : { sinceMs: parseTime("--since", v.since, now) }),
    ...(v.until === undefined ? {} : { untilMs: parseTime("--until", v.until, now) }),
  };
  if (
    filter.sinceMs !== undefined && filter.untilMs !== undefined &&
    filter.sinceMs >= filter.untilMs
  ) {
    throw new UsageError(`Invalid --since/--until: --since must be before --until`);
  }
  if (command === "stats") return { command, common };
  if (command === "show") {
    return {
      command,
      common,
      filter,
      limit: numberFlag("--limit", v.limit, { min: 1, max: 1_000_000, integer: true }) ??
        DLQ_DEFAULTS.limit,
      maxChars: numberFlag("--max-chars", v["max-chars"], { min: 1, max: 1e7, integer: true }) ??
        DLQ_DEFAULTS.maxChars,
    };
  }
  if (v.group !== undefined && !/^[A-Za-z0-9._-]{1,249}$/.test(v.group)) {
    throw new UsageError(`Invalid --group: "${v.group}" (use A-Z a-z 0-9 . _ -)`);
  }
  return {
    command,
    common,
    filter,
    dryRun: v["dry-run"] ?? false,
    ...(v.group === undefined ? {} : { group: v.group }),
  };
}
