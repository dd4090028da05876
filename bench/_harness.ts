/**
 * What the benchmarks share to run things: subprocesses from the repository root, Kafka's tool
 * classes, the producer CLI, topics on the local broker, and the consumer process with its
 * stderr read line by line. Rule: one copy of each, so every bench starts the producer and the
 * consumer the same way (the local broker's PLAINTEXT listener, `localhost:9092`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Admin, Kafka, logLevel } from "kafkajs";

/**
 * A bench's command line: `--name value` options with their defaults, and boolean `flags` (off
 * unless given). An unknown option is an error.
 */
export function benchArgs<S extends string, F extends string = never>(
  defaults: Record<S, string>,
  flags: readonly F[] = [],
  args: string[] = Deno.args,
): Record<S, string> & Record<F, boolean> {
  const options: Record<string, { type: "string"; default: string } | { type: "boolean" }> = {};
  for (const [name, value] of Object.entries<string>(defaults)) {
    options[name] = { type: "string", default: value };
  }
  for (const name of flags) options[name] = { type: "boolean" };
  const { values } = parseArgs({ args, strict: true, options });
  for (const name of flags) values[name] ??= false;
  return { ...values } as Record<S, string> & Record<F, boolean>;
}

/** The repository root (every subprocess runs there). */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** The local broker's PLAINTEXT listener: what every bench talks to. */
export const BROKER = "localhost:9092";

const decoder = new TextDecoder();

/** Runs `cmd` in the repository root; stdout and stderr as text. */
export async function command(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(cmd, { args, cwd: ROOT, env, stdout: "piped", stderr: "piped" })
    .output();
  return { code: o.code, out: decoder.decode(o.stdout), err: decoder.decode(o.stderr) };
}

/** Runs a Kafka tool class (`bash dev/kafka.sh tool …`); its stdout, or an error. */
export async function kafkaTool(args: string[]): Promise<string> {
  const r = await command("bash", ["dev/kafka.sh", "tool", ...args]);
  if (r.code !== 0) {
    throw new Error(`Cannot run Kafka tool ${args[0]}: exit ${r.code}\n${r.err}${r.out}`);
  }
  return r.out;
}

/** One line about the machine: CPUs, memory, Deno, Java. */
export async function machineLine(): Promise<string> {
  const sh = async (script: string) => (await command("bash", ["-c", script])).out.trim();
  const nproc = await sh("nproc");
  const memKb = Number(await sh("awk '/MemTotal/ {print $2}' /proc/meminfo"));
  const cpu = await sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
  const java = await sh("java -version 2>&1 | head -1");
  return `${nproc} CPUs (${cpu || "?"}), ${Math.round(memKb / 1024 / 1024)} GiB RAM, ` +
    `Deno ${Deno.version.deno}, ${java}`;
}

/** The `--json` summary of the producer CLI: records acked, and what a bench reads besides. */
export interface ProducerSummary {
  readonly acked: number;
}

/**
 * Runs the producer CLI (`producer/main.ts … --json`) with the `produce` permission set and
 * returns its summary; throws when it fails. `denoFlags` go before the script (e.g. `--quiet`).
 */
export async function produce<S extends ProducerSummary = ProducerSummary>(
  args: string[],
  options: { env?: Record<string, string>; denoFlags?: string[] } = {},
): Promise<S> {
  const r = await command(Deno.execPath(), [
    "run",
    "-P=produce",
    ...(options.denoFlags ?? []),
    "producer/main.ts",
    ...args,
    "--json",
  ], options.env);
  const last = r.out.trim().split("\n").at(-1) ?? "";
  if (r.code !== 0) throw new Error(`Cannot run the producer: exit ${r.code}\n${r.err}\n${last}`);
  return JSON.parse(last) as S;
}

/** Produces `count` synthetic orders with `seed` to `topic` as fast as possible; records acked. */
export async function prefill(
  topic: string,
  count: number,
  seed: number,
  env: Record<string, string> = {},
): Promise<number> {
  const summary = await produce(
    ["--topic", topic, "--count", String(count), "--seed", String(seed), "--quiet"],
    { env },
  );
  return Number(summary.acked ?? 0);
}

/** Runs `f` with a connected admin client of the local broker. */
export async function withAdmin<T>(f: (admin: Admin) => Promise<T>): Promise<T> {
  const a = new Kafka({ clientId: "bench", brokers: [BROKER], logLevel: logLevel.ERROR }).admin();
  await a.connect();
  try {
    return await f(a);
  } finally {
    await a.disconnect();
  }
}

/** Creates `topic` (6 partitions) and, unless `dlq` is false, `<topic>.dlq` (1 partition). */
export async function createTopics(topic: string, dlq = true): Promise<void> {
  const topics = [{ topic, numPartitions: 6, replicationFactor: 1 }];
  if (dlq) topics.push({ topic: `${topic}.dlq`, numPartitions: 1, replicationFactor: 1 });
  await withAdmin((a) => a.createTopics({ waitForLeaders: true, topics }));
}

/** Deletes `topic` and, unless `dlq` is false, `<topic>.dlq`. */
export async function deleteTopics(topic: string, dlq = true): Promise<void> {
  await withAdmin((a) => a.deleteTopics({ topics: dlq ? [topic, `${topic}.dlq`] : [topic] }));
}

/** Creates `topic` and `<topic>.dlq`, runs `f`, then deletes both, whatever `f` did. */
export async function withTopics<T>(topic: string, f: () => Promise<T>): Promise<T> {
  await createTopics(topic);
  try {
    return await f();
  } finally {
    await deleteTopics(topic).catch((e) => console.error(`Cannot delete ${topic}: ${e}`));
  }
}

/**
 * The consumer's settings for a bench: the local broker, `topic` and `<topic>.dlq`, `group`, a
 * local sink in `dir`; no HTTP server unless `extra` sets `HTTP_PORT`. Everything else default.
 */
export function consumerEnv(
  topic: string,
  group: string,
  dir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    KAFKA_BROKERS: BROKER,
    KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
    ORDERS_TOPIC: topic,
    DLQ_TOPIC: `${topic}.dlq`,
    CONSUMER_GROUP: group,
    SINK: "local",
    SINK_DIR: dir,
    HTTP_PORT: "0",
    ...extra,
  };
}

/** A consumer process started by {@linkcode spawnConsumer}. */
export interface ConsumerProcess {
  readonly pid: number;
  /** SIGTERM (unless it is gone already), then its exit status once stderr is read to the end. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `consumer/main.ts` with `flags` (the `deno run` flags) and `args`, stdin and stdout
 * closed, and hands each line it writes to stderr to `onLine`.
 */
export function spawnConsumer(options: {
  flags: string[];
  args: string[];
  env: Record<string, string>;
  onLine: (line: string) => void;
}): ConsumerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...options.flags, "consumer/main.ts", ...options.args],
    cwd: ROOT,
    env: options.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const pump = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) options.onLine(line);
    }
  })();
  return {
    pid: child.pid,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await pump;
      return status;
    },
  };
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
