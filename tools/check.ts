/**
 * `deno task check`: validates the settings, then checks that Kafka (connect + auth, metadata,
 * the orders and DLQ topics, the consumer group coordinator) and the storage target (local
 * directory or IBM Cloud Object Storage bucket) work, and prints a table with a remedy under
 * every failure. Never prints a secret. Every check has a timeout.
 *
 * Exit codes: 0 all checks OK, 1 a check failed, 2 invalid settings or usage.
 *
 * @module
 */
import { deadline } from "../core/async.ts";
import { parseArgs } from "node:util";
import type { Admin } from "kafkajs";
import { createCosClient, describeCosError, fetchIamToken } from "../clients/cos.ts";
import { createKafka, describeKafkaError } from "../clients/kafka.ts";
import {
  loadSettings,
  redact,
  redactSettings,
  secretsOf,
  type Settings,
  SettingsError,
} from "../config/settings.ts";

/** Outcome of one check. `WARN` marks an optional check that failed; it does not fail the run. */
export type CheckStatus = "OK" | "FAIL" | "WARN" | "SKIP";

/** One row of the check table. */
export interface CheckResult {
  readonly check: string;
  readonly target: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly remedy?: string;
  readonly durationMs: number;
}

/** Options for {@linkcode runChecks}. */
export interface RunChecksOptions {
  /** Upper bound for each check in ms. Default 10000. */
  readonly timeoutMs?: number;
}

const USAGE = `Usage: deno task check [--json] [--timeout <seconds>]

Checks the orderflow settings (environment variables, .env, Event Streams credential JSON),
then Kafka (connect + auth, metadata, topics, consumer group coordinator) and the storage
target (local directory or IBM Cloud Object Storage bucket).

Options:
  --json               print one JSON document instead of the table
  --timeout <seconds>  upper bound for each check (default 10)
  -h, --help           show this help

Exit codes: 0 all checks OK, 1 a check failed, 2 invalid settings or usage.
See config/.env.example for every variable.`;

/** Thrown when a check does not finish within its time budget. */
class CheckTimeoutError extends Error {
  override name = "TimeoutError";
}

function withTimeout<T>(ms: number, what: string, run: () => Promise<T>): Promise<T> {
  return deadline(run(), ms, () => new CheckTimeoutError(`${what} timed out after ${ms} ms`));
}

/**
 * Runs every check against `settings` and returns one row per check, in order. Never throws
 * for a failing check (it becomes a `FAIL` row); rows contain no secrets.
 */
export async function runChecks(
  settings: Settings,
  options: RunChecksOptions = {},
): Promise<readonly CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const results: CheckResult[] = [];
  const secrets = secretsOf(settings);
  const push = (row: CheckResult) =>
    results.push(Object.freeze({
      ...row,
      detail: redact(row.detail, secrets),
      ...(row.remedy !== undefined ? { remedy: redact(row.remedy, secrets) } : {}),
    }));
  const timed = async (
    check: string,
    target: string,
    run: () => Promise<string>,
    describe: (err: unknown) => { message: string; remedy: string },
    failStatus: CheckStatus = "FAIL",
  ): Promise<boolean> => {
    const started = performance.now();
    try {
      const detail = await withTimeout(timeoutMs, check, run);
      push({ check, target, status: "OK", detail, durationMs: elapsed(started) });
      return true;
    } catch (err) {
      const { message, remedy } = describe(err);
      push({
        check,
        target,
        status: failStatus,
        detail: message,
        remedy,
        durationMs: elapsed(started),
      });
      return false;
    }
  };

  await checkKafka(settings, timeoutMs, timed, push);
  if (settings.sink.kind === "local") await checkLocalDir(settings.sink.dir, timed);
  else await checkCos(settings, timed);
  return Object.freeze(results);
}

type Timed = (
  check: string,
  target: string,
  run: () => Promise<string>,
  describe: (err: unknown) => { message: string; remedy: string },
  failStatus?: CheckStatus,
) => Promise<boolean>;

async function checkKafka(
  settings: Settings,
  timeoutMs: number,
  timed: Timed,
  push: (row: CheckResult) => void,
): Promise<void> {
  const { kafka: ks, topics, consumer } = settings;
  const brokers = ks.brokers.join(",");
  const kafka = createKafka(ks, {
    clientId: `${ks.clientId}-check`,
    logLevel: settings.logLevel === "debug" ? "debug" : "none",
    connectionTimeout: Math.min(timeoutMs, 10_000),
    authenticationTimeout: Math.min(timeoutMs, 10_000),
    requestTimeout: timeoutMs,
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 },
  });
  const describe = (err: unknown) => describeKafkaError(err, ks);
  const admin: Admin = kafka.admin();
  try {
    const how = ks.securityProtocol === "SASL_SSL"
      ? `SASL_SSL as "${ks.sasl?.username ?? ""}"${ks.ca !== undefined ? ", custom CA" : ""}`
      : "PLAINTEXT";
    const connected = await timed("kafka.connect", brokers, async () => {
      await admin.connect();
      return `connected (${how})`;
    }, describe);
    const skipped = (check: string, target: string) =>
      push({
        check,
        target,
        status: "SKIP",
        detail: "skipped: cannot connect to Kafka",
        durationMs: 0,
      });
    if (!connected) {
      skipped("kafka.metadata", brokers);
      skipped("kafka.topic", topics.orders);
      skipped("kafka.topic", topics.dlq);
      skipped("kafka.group", consumer.groupId);
      return;
    }
    let existing = new Set<string>();
    await timed("kafka.metadata", brokers, async () => {
      const cluster = await admin.describeCluster();
      existing = new Set(await admin.listTopics());
      return `cluster ${cluster.clusterId}: ${cluster.brokers.length} broker(s), controller ${cluster.controller}, ${existing.size} topic(s)`;
    }, describe);
    for (const topic of [topics.orders, topics.dlq]) {
      await timed("kafka.topic", topic, async () => {
        if (!existing.has(topic)) {
          throw Object.assign(new Error(`topic "${topic}" not found`), {
            type: "UNKNOWN_TOPIC_OR_PARTITION",
          });
        }
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = meta.topics[0]?.partitions.length ?? 0;
        return `exists, ${partitions} partition(s)`;
      }, describe);
    }
    await timed("kafka.group", consumer.groupId, async () => {
      const { groups } = await describeGroupPatiently(admin, consumer.groupId);
      const group = groups[0];
      if (group === undefined) return "coordinator reachable";
      const state = group.state === "Dead" ? "no committed state yet" : `state ${group.state}`;
      return `coordinator reachable, ${state}, ${group.members.length} member(s)`;
    }, (err) => {
      const d = describe(err);
      return {
        message: `${d.message} (optional check)`,
        remedy: `${d.remedy}; the consumer needs the group coordinator to join the group`,
      };
    }, "WARN");
  } finally {
    await admin.disconnect();
  }
}

/**
 * `describeGroups`, retried while the broker answers with a retriable error: a fresh broker
 * answers NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE until `__consumer_offsets` exists. The
 * caller's timeout bounds the loop.
 */
async function describeGroupPatiently(
  admin: Admin,
  groupId: string,
): ReturnType<Admin["describeGroups"]> {
  for (let attempt = 1;; attempt++) {
    try {
      return await admin.describeGroups([groupId]);
    } catch (err) {
      const retriable = (err as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function checkLocalDir(dir: string, timed: Timed): Promise<void> {
  await timed("storage.local", dir, async () => {
    await Deno.mkdir(dir, { recursive: true });
    const name = `.orderflow-check-${crypto.randomUUID()}`;
    const tmp = `${dir}/${name}.tmp`;
    const final = `${dir}/${name}.json`;
    const body = JSON.stringify({ check: "orderflow", at: new Date().toISOString() });
    try {
      await Deno.writeTextFile(tmp, body);
      await Deno.rename(tmp, final);
      const back = await Deno.readTextFile(final);
      if (back !== body) throw new Error(`read back different content from ${final}`);
      await Deno.remove(final);
    } finally {
      await removeIfPresent(tmp);
      await removeIfPresent(final);
    }
    return `writable: created, wrote, renamed and deleted a probe file in ${await Deno.realPath(
      dir,
    )}`;
  }, describeLocalError);
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function describeLocalError(err: unknown): { message: string; remedy: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return {
      message: `Cannot write to SINK_DIR: ${message}`,
      remedy:
        'the check and consume permission sets allow writing under ./data only: keep SINK_DIR inside ./data (run from the repository root), or widen "write" in deno.json; on a PermissionDenied from the OS, fix the directory\'s owner/mode',
    };
  }
  return {
    message: `Cannot use SINK_DIR: ${message}`,
    remedy: "point SINK_DIR at a writable directory on a local file system (atomic rename needed)",
  };
}

async function checkCos(settings: Settings, timed: Timed): Promise<void> {
  if (settings.sink.kind !== "cos") return;
  const cos = settings.sink.cos;
  const describe = (err: unknown) => describeCosError(err, cos);
  if (cos.auth.kind === "iam") {
    const auth = cos.auth;
    const ok = await timed("cos.iam-token", auth.authEndpoint, async () => {
      const { expiresAt } = await fetchIamToken(auth);
      return `token issued${expiresAt !== undefined ? `, expires ${expiresAt.toISOString()}` : ""}`;
    }, describe);
    if (!ok) {
      for (const check of ["cos.bucket", "cos.write"]) {
        await timed(
          check,
          `${cos.endpoint}/${cos.bucket}`,
          () => {
            throw new Error("skipped");
          },
          () => ({ message: "skipped: no IAM token", remedy: "fix cos.iam-token first" }),
          "SKIP",
        );
      }
      return;
    }
  }
  const client = createCosClient(cos, { maxRetries: 1, connectTimeoutMs: 5_000 });
  const target = `${cos.endpoint}/${cos.bucket}`;
  const bucketOk = await timed("cos.bucket", target, async () => {
    try {
      await client.headBucket({ Bucket: cos.bucket }).promise();
    } catch (error) {
      // A refused HEAD has no body, so no error code (a wrong HMAC secret and a missing role
      // both read "Forbidden"); the same request as a listing gets COS's coded answer.
      if ((error as { statusCode?: unknown }).statusCode !== 403) throw error;
      await client.listObjectsV2({ Bucket: cos.bucket, MaxKeys: 1 }).promise();
      throw error;
    }
    return `bucket exists and is accessible (${cos.auth.kind.toUpperCase()} auth)`;
  }, describe);
  if (!bucketOk) return;
  const key = `_orderflow_check/${
    new Date().toISOString().replaceAll(":", "-")
  }-${crypto.randomUUID()}.json`;
  await timed("cos.write", `${target}/_orderflow_check/`, async () => {
    await client.putObject({
      Bucket: cos.bucket,
      Key: key,
      Body: JSON.stringify({ check: "orderflow" }),
      ContentType: "application/json",
    }).promise();
    await client.deleteObject({ Bucket: cos.bucket, Key: key }).promise();
    return `put and deleted probe object ${key}`;
  }, describe);
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

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
  let values: { json?: boolean; help?: boolean; timeout?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        timeout: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`Cannot parse arguments: ${err instanceof Error ? err.message : String(err)}`);
    console.error("Run `deno task check --help` for usage.");
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const timeoutSeconds = values.timeout === undefined ? 10 : Number(values.timeout);
  if (!(timeoutSeconds > 0 && timeoutSeconds <= 600)) {
    console.error(`Cannot use --timeout ${values.timeout}: expected seconds between 0 and 600`);
    console.error("Pass e.g. --timeout 5");
    return 2;
  }

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
    return 2;
  }

  const results = await runChecks(settings, { timeoutMs: timeoutSeconds * 1000 });
  const failed = results.some((r) => r.status === "FAIL");
  const exitCode = failed ? 1 : 0;
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
  Deno.exit(await main(Deno.args, Deno.env.toObject()));
}
