/**
 * The processes `deno task demo` starts, waits for and stops: the local Kafka broker, the
 * consumer and the producer; and the failure the demo explains to the user.
 *
 * @module
 */
import { delay, settleWithin } from "../core/async.ts";
import type { Admin } from "kafkajs";

/** A failure the demo explains to the user (message + remedy); exit code 1. */
export class DemoError extends Error {
  override name = "DemoError";
  /** What to do about it. */
  readonly remedy: string;
  constructor(message: string, remedy: string, options?: ErrorOptions) {
    super(message, options);
    this.remedy = remedy;
  }
}

/** Decodes child process output. */
export const decoder = new TextDecoder();

async function kafkaScript(action: "status" | "start" | "stop", show: boolean): Promise<number> {
  const out = await new Deno.Command("bash", {
    args: ["dev/kafka.sh", action],
    stdin: "null",
    stdout: show ? "inherit" : "null",
    stderr: show ? "inherit" : "null",
  }).output();
  return out.code;
}

/** `bash dev/kafka.sh start` with its progress on our stderr; true when it was not running. */
export async function ensureBroker(): Promise<boolean> {
  if (await kafkaScript("status", false) === 0) {
    console.error("demo: local Kafka broker already running (it will be left running)");
    return false;
  }
  console.error(
    "demo: starting the local Kafka broker (bash dev/kafka.sh start; the first run downloads " +
      "the Kafka jars from Maven Central, ~54 MB)...",
  );
  const code = await kafkaScript("start", true);
  if (code !== 0) {
    throw new DemoError(
      `Cannot start the local Kafka broker: dev/kafka.sh exited with ${code}`,
      "See its messages above (Java 17, Maven and OpenSSL are needed: apt-get install -y " +
        "openjdk-17-jre-headless maven openssl), or look at .run/kafka/logs/.",
    );
  }
  return true;
}

/** `bash dev/kafka.sh stop`, its messages on our stderr. */
export async function stopBroker(): Promise<void> {
  console.error("demo: stopping the local Kafka broker (the demo started it)");
  const code = await kafkaScript("stop", true);
  if (code !== 0) console.error(`demo: dev/kafka.sh stop exited with ${code}`);
}

/** 8787 when free (or HTTP_PORT as set), else a free port; "0" when HTTP_PORT=0. */
export function choosePort(): string {
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
export async function dashboardAnswers(port: string): Promise<boolean> {
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

export function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).map((l) => `    ${l}`).join("\n");
}

export async function readLog(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

export async function dlqCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/** True when `promise` settles within `ms`; clears its timer either way. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return settleWithin(promise.then(() => true), ms, false);
}

/** Waits up to `graceMs` for the consumer to exit by itself, then SIGTERMs it and waits. */
export async function stopConsumer(
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
export const READY_TIMEOUT_MS = 60_000;

/**
 * Waits for the consumer's "consumer: ready" log line (it can store at full speed from then on:
 * group joined, first fetch answered, scorers warmed, sink probed) and returns it. Producing
 * earlier would time the consumer's start-up into the first orders' latency.
 */
export async function consumerReady(
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

/**
 * Starts `deno run --quiet <args>` through bash (the demo's permission set allows "bash", not
 * the deno binary's path, which differs between installs). With `logPath` its output goes to
 * that file (so with --keep it outlives the demo), else stdout and stderr are piped.
 */
export function spawnDeno(
  args: readonly string[],
  env: Record<string, string>,
  logPath?: string,
): Deno.ChildProcess {
  const toLog = logPath !== undefined;
  return new Deno.Command("bash", {
    args: [
      "-c",
      toLog ? 'exec "$@" >>"$DEMO_LOG" 2>&1' : 'exec "$@"',
      "bash",
      Deno.execPath(),
      "run",
      "--quiet",
      ...args,
    ],
    env: toLog ? { ...env, DEMO_LOG: logPath } : env,
    stdin: "null",
    stdout: toLog ? "null" : "piped",
    stderr: toLog ? "null" : "piped",
  }).spawn();
}
