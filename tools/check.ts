/**
 * `deno task check`: the pre-flight check for a consumer. Validates the settings, then checks
 * that Kafka (connect + auth, metadata, the orders and DLQ topics, the consumer group
 * coordinator), the storage target (local directory or IBM Cloud Object Storage bucket) and the
 * scorer plugins (each starts in its sandbox) work, and prints a table with a remedy under every
 * failure. Never prints a secret. Every check has a timeout.
 *
 * Exit codes (cli/usage.ts): 0 all checks OK, 1 a check failed, 2 invalid settings or usage.
 *
 * @module
 */
import { EXIT, numberFlag, parseFlags, runTask } from "../cli/usage.ts";
import {
  loadSettings,
  redact,
  redactSettings,
  secretsOf,
  type Settings,
  SettingsError,
} from "../config/settings.ts";
import { type CheckResult, runChecks } from "./check_run.ts";

export {
  type CheckResult,
  type CheckStatus,
  runChecks,
  type RunChecksOptions,
} from "./check_run.ts";

const USAGE = `Usage: deno task check [--json] [--timeout <seconds>]

Checks the orderflow settings (environment variables, .env, Event Streams credential JSON),
then Kafka (connect + auth, metadata, topics, consumer group coordinator), the storage target
(local directory or IBM Cloud Object Storage bucket) and the scorer plugins (PLUGINS_DIR: the
manifest loads and every scorer starts in its sandbox), as the consumer needs them.

Options:
  --json               print one JSON document instead of the table
  --timeout <seconds>  upper bound for each check (default 10)
  -h, --help           show this help

Exit codes: 0 all checks OK, 1 a check failed, 2 invalid settings or usage.
See config/.env.example for every variable.`;

/** Renders the results as a plain-text table with the remedy under each failure. */
export function formatTable(results: readonly CheckResult[]): string {
  const headers = ["CHECK", "TARGET", "STATUS", "DETAIL"] as const;
  const rows = results.map((r) => [r.check, r.target, r.status, r.detail]);
  const widths = [0, 1, 2].map((i) =>
    Math.max(headers[i]!.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join("  ").trimEnd();
  const out = [line(headers)];
  results.forEach((r, i) => {
    out.push(line(rows[i]!));
    if (r.remedy !== undefined && r.status !== "OK" && r.status !== "SKIP") {
      out.push(`${" ".repeat(widths[0]! + 2)}→ ${r.remedy}`);
    }
  });
  return out.join("\n");
}

function summary(settings: Settings): string {
  const s = redactSettings(settings);
  const sink = s.sink.kind === "local"
    ? `local ${s.sink.dir} (${s.sink.layout})`
    : `cos ${s.sink.cos.endpoint} bucket ${s.sink.cos.bucket} (${s.sink.cos.auth.kind}, ${s.sink.layout})`;
  return [
    `Kafka:  ${s.kafka.brokers.join(",")} ${s.kafka.securityProtocol}` +
    (s.kafka.sasl ? ` user=${s.kafka.sasl.username} password=***` : "") +
    (s.kafka.ca !== undefined ? ` ca=${s.kafka.ca}` : ""),
    `Topics: ${s.topics.orders}, ${s.topics.dlq}; group ${s.consumer.groupId}`,
    `Sink:   ${sink}`,
    `Plugins: ${s.pluginsDir}`,
  ].join("\n");
}

/**
 * Runs the CLI: parses `args`, loads settings from `env`, runs the checks and writes the
 * report. Returns the exit code (0 OK, 1 a check failed, 2 bad settings or usage).
 */
export async function main(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const { values } = parseFlags(args, { string: ["timeout"], boolean: ["json"] });
  if (values.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  const timeoutSeconds = numberFlag("--timeout", values.timeout, {
    min: 0.001,
    max: 600,
    integer: false,
  }) ?? 10;

  let settings: Settings;
  try {
    settings = loadSettings(env);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    if (values.json) {
      console.log(JSON.stringify({ ok: false, exitCode: 2, problems: err.problems }, null, 2));
    } else {
      console.error(`Settings are invalid (${err.problems.length} problem(s)):`);
      for (const problem of err.problems) console.error(`  - ${problem}`);
      console.error("Fix the variables above (environment or .env); see config/.env.example.");
    }
    return EXIT.usage;
  }

  const results = await runChecks(settings, { timeoutMs: timeoutSeconds * 1000 });
  const failed = results.some((r) => r.status === "FAIL");
  const exitCode = failed ? EXIT.failure : EXIT.ok;
  const secrets = secretsOf(settings);
  if (values.json) {
    const doc = { ok: !failed, exitCode, settings: redactSettings(settings), checks: results };
    console.log(redact(JSON.stringify(doc, null, 2), secrets));
  } else {
    console.log(redact(`${summary(settings)}\n\n${formatTable(results)}\n`, secrets));
    console.log(
      failed
        ? `FAILED: ${results.filter((r) => r.status === "FAIL").length} check(s) failed.`
        : "All checks passed.",
    );
  }
  return exitCode;
}

if (import.meta.main) {
  Deno.exit(await runTask("check", () => main(Deno.args, Deno.env.toObject())));
}
