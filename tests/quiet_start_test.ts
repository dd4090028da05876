/**
 * Quiet start: `deno task produce` and `deno task consume`, run as a user would (no `.env`
 * needed), print no warning a user cannot act on — neither Deno's (`--env-file` without a
 * `.env`, permission sets being experimental) nor kafkajs' (the dead-letter producer's
 * idempotence).
 */
import assert from "node:assert/strict";
import { cleanup, consumerEnv, countLocal, scenario } from "./consumer_support.ts";
import { silenceTimeoutNegativeWarning } from "../clients/kafka.ts";

const ROOT = new URL("../", import.meta.url);

/** Runs `deno task <args>` from the repository root with `env`; returns the exit code and stderr. */
async function task(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Lines that warn (Deno's "Warning ...", kafkajs' "WARN [...]", node's "...Warning: ..."). */
function warnings(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /warn/i.test(l));
}

Deno.test("deno task produce and deno task consume start without warnings", async () => {
  silenceTimeoutNegativeWarning(); // the test's own admin client, not the tasks'
  const s = await scenario("quiet", 1);
  try {
    const env = consumerEnv(s, { HTTP_PORT: "0" });
    const produce = await task(["produce", "--topic", s.topic, "--count", "20", "--quiet"], env);
    assert.equal(produce.code, 0, produce.stderr);
    assert.deepEqual(warnings(produce.stderr), [], produce.stderr);

    const consume = await task(["consume", "--max-records", "20", "--summary-interval", "0"], env);
    assert.equal(consume.code, 0, consume.stderr);
    assert.equal(countLocal(s.dir), 20);
    assert.match(consume.stderr, /^consumer: ready /m);
    assert.deepEqual(warnings(consume.stderr), [], consume.stderr);
  } finally {
    await cleanup(s);
  }
});
