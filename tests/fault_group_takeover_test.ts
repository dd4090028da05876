/**
 * Fault: three consumers of one group share a six-partition topic while the producer CLI is
 * producing; one is SIGKILLed mid-stream. The other two take over its partitions (once the
 * broker's session timeout expires the member) and nothing is lost.
 *
 * The consumer's session timeout is kafkajs' 30 s and `consumer/main.ts` exposes no setting for
 * it; the test passes `CONSUMER_SESSION_TIMEOUT_MS=6000` so it speeds up as soon as the consumer
 * reads that variable (ignored until then).
 */
import assert from "node:assert/strict";
import { cleanup, consumerEnv, ConsumerProcess, scenario, until } from "./consumer_support.ts";
import {
  checkedLocal,
  plaintextEnv,
  ProducerProcess,
  reconcile,
  seeded,
  sized,
  sleep,
  sprinkleBad,
  storedIds,
} from "./fault_support.ts";

/** The partitions of the latest "joined group" line of a consumer, or undefined. */
function assignment(proc: ConsumerProcess): number[] | undefined {
  const joins = proc.lines.filter((l) => /joined group/.test(l));
  const last = joins.at(-1);
  if (last === undefined) return undefined;
  const m = /partitions \[([\d,]*)\]/.exec(last);
  if (m === null) return undefined;
  return m[1] === "" ? [] : m[1]!.split(",").map(Number);
}

Deno.test("consumer group: two survivors take over a SIGKILLed member's partitions, nothing lost", async () => {
  const count = sized(12_000, 120_000);
  const rate = sized(500, 2_000); // stream ~24 s (CI) / ~60 s (soak)
  const random = seeded(6);
  const s = await scenario("fault-group", 6);
  const env = plaintextEnv(consumerEnv(s, { HTTP_PORT: "0", CONSUMER_SESSION_TIMEOUT_MS: "6000" }));
  const procs: ConsumerProcess[] = [];
  let producer: ProducerProcess | undefined;
  try {
    const bad = await sprinkleBad(s.topic, "grp");
    for (let i = 0; i < 3; i++) {
      procs.push(new ConsumerProcess(env, ["--from-beginning", "--summary-interval", "2000"]));
    }
    await until("three members with two partitions each", () => {
      const sets = procs.map(assignment);
      return sets.every((a) => a?.length === 2) &&
        new Set(sets.flatMap((a) => a ?? [])).size === 6;
    }, 90_000);
    producer = new ProducerProcess(plaintextEnv(), [
      "--topic",
      s.topic,
      "--seed",
      "66",
      "--count",
      String(count),
      "--rate",
      String(rate),
    ]);
    await sleep(2_000 + Math.round(random() * 4_000));
    const victim = procs[1]!;
    const victimPartitions = assignment(victim)!;
    const storedAtKill = storedIds(s.dir).size;
    victim.kill("SIGKILL");
    assert.notEqual(await victim.exit(), 0);
    const killedAt = Date.now();
    await checkedLocal(s.dir); // the killed member left no partial file under a visible name
    const survivors = [procs[0]!, procs[2]!];
    await until("the survivors own all six partitions", () => {
      const sets = survivors.map(assignment);
      return new Set(sets.flatMap((a) => a ?? [])).size === 6;
    }, 90_000);
    const takeoverMs = Date.now() - killedAt;

    const run = await producer.result();
    producer = undefined;
    assert.equal(run.code, 0, run.stderr);
    const acked = new Set(run.deliveries.filter((d) => d.status === "acked").map((d) => d.key!));
    assert.equal(acked.size, count);
    await until(
      "every order stored",
      () => storedIds(s.dir).size >= count,
      sized(120_000, 600_000),
    );
    for (const p of survivors) p.kill("SIGTERM");
    for (const p of survivors) assert.equal(await p.exit(), 0, p.lines.join("\n"));
    procs.length = 0;
    const result = await reconcile(s, acked, bad);
    console.error(
      `  killed the member of [${victimPartitions}] with ${storedAtKill} stored; survivors own ` +
        `[${survivors.map((p) => assignment(p)?.join(",")).join("] [")}] after ${takeoverMs} ms; ` +
        JSON.stringify(result),
    );
  } finally {
    for (const p of procs) {
      try {
        p.kill("SIGKILL");
      } catch {
        // already exited
      }
      await p.exit().catch(() => undefined);
    }
    if (producer !== undefined) {
      producer.child.kill("SIGKILL");
      await producer.result().catch(() => undefined);
    }
    await cleanup(s);
  }
});
