/**
 * The exit-code convention of every task (cli/usage.ts, README "Exit codes"), through
 * `deno task <name>` as a user runs it: a bad flag exits 2 with `<task>: <what is wrong>` and
 * `run with --help for usage` on stderr and no stack trace, before anything is connected to or
 * started; `--help` prints the usage on stdout and exits 0. Needs no broker or S3 server: the
 * settings point at a closed port and a missing plugins directory, so a task that touched either
 * before rejecting the flag would fail differently.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

/** Task name → the words before the flags (a `dlq` command needs its subcommand). */
const TASKS: Readonly<Record<string, readonly string[]>> = {
  produce: [],
  consume: [],
  check: [],
  demo: [],
  query: [],
  schema: [],
  dlq: ["stats"],
  plugins: [],
};

const UNREACHABLE: Record<string, string> = {
  KAFKA_BROKERS: "127.0.0.1:1",
  KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
  SINK: "local",
  SINK_DIR: "./data/test/cli-exit-codes-never-created",
  PLUGINS_DIR: "./data/test/cli-exit-codes-no-plugins",
  NO_COLOR: "1",
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

async function task(name: string, args: readonly string[]): Promise<Run> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, ...TASKS[name]!, ...args],
    cwd: ROOT,
    env: UNREACHABLE,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: performance.now() - started,
  };
}

/** Runs `fn` over every task, two at a time (the machine is shared). */
async function eachTask(fn: (name: string) => Promise<void>): Promise<void> {
  const names = Object.keys(TASKS);
  const lanes = [0, 1].map(async (lane) => {
    for (let i = lane; i < names.length; i += 2) await fn(names[i]!);
  });
  await Promise.all(lanes);
}

Deno.test("every task rejects an unknown flag with exit 2, '<task>: …' and the --help hint", async () => {
  await eachTask(async (name) => {
    const run = await task(name, ["--no-such-flag"]);
    const what = `${name}: exit ${run.code}\n${run.stderr}`;
    assert.equal(run.code, 2, what);
    assert.match(run.stderr, new RegExp(`^${name}: .*--no-such-flag`), what);
    assert.match(run.stderr, /\nrun with --help for usage\n$/, what);
    assert.doesNotMatch(run.stderr, /^\s+at /m, `${what}\n(a stack trace)`);
    assert.equal(run.stdout, "", what);
    assert.ok(run.ms < 30_000, `${name} took ${Math.round(run.ms)} ms to reject a flag`);
  });
});

Deno.test("every task rejects a bad flag value with exit 2 and the --help hint", async () => {
  const bad: Readonly<Record<string, readonly string[]>> = {
    produce: ["--count", "many"],
    consume: ["--max-records", "0"],
    check: ["--timeout", "never"],
    demo: ["--count", "0"],
    query: ["--json", "--csv", "SELECT 1"],
    schema: ["extra"],
    dlq: ["--limit", "5"],
    plugins: ["new", "NOT A CHANNEL"],
  };
  await eachTask(async (name) => {
    const run = await task(name, bad[name]!);
    const what = `${name} ${bad[name]!.join(" ")}: exit ${run.code}\n${run.stderr}`;
    assert.equal(run.code, 2, what);
    assert.match(run.stderr, new RegExp(`^${name}: `), what);
    assert.match(run.stderr, /\nrun with --help for usage\n$/, what);
    assert.doesNotMatch(run.stderr, /^\s+at /m, `${what}\n(a stack trace)`);
  });
});

Deno.test("every task prints its usage on stdout for --help and exits 0", async () => {
  await eachTask(async (name) => {
    const run = await task(name, ["--help"]);
    const what = `${name} --help: exit ${run.code}\n${run.stderr}`;
    assert.equal(run.code, 0, what);
    assert.match(run.stdout, new RegExp(`Usage:[\\s\\S]*deno task ${name}`), what);
    assert.equal(run.stderr, "", what);
  });
});
