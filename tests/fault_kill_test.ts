/**
 * Fault: the consumer is SIGKILLed 5 times at seeded random moments while the producer CLI is
 * still producing; it is restarted each time. Right after each kill every visible order file is
 * complete (valid JSON, the orderId its name says; a killed write leaves at most a hidden temp
 * file). Afterwards the stored orders are exactly the acked valid IDs, contents checked, and
 * every bad record is in the DLQ. CI size by default, full size with `SOAK=1`.
 */
import assert from "node:assert/strict";
import { cleanup, consumerEnv, ConsumerProcess, scenario } from "./consumer_support.ts";
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

const SEED = Number(Deno.env.get("FAULT_SEED") ?? 20261126);

Deno.test("consumer loses nothing when SIGKILLed 5 times at random moments during a stream", async () => {
  const count = sized(20_000, 200_000);
  const rate = sized(800, 4_000); // the stream lasts ~25 s (CI) / ~50 s (soak): all kills land in it
  const random = seeded(SEED);
  const s = await scenario("fault-kill");
  // CONSUMER_SESSION_TIMEOUT_MS: each restart waits for the broker to expire the killed member
  // (30 s in kafkajs); ignored until the consumer reads the variable.
  const env = plaintextEnv(consumerEnv(s, { HTTP_PORT: "0", CONSUMER_SESSION_TIMEOUT_MS: "6000" }));
  let proc: ConsumerProcess | undefined;
  try {
    let bad = await sprinkleBad(s.topic, "kill-a");
    const producer = new ProducerProcess(plaintextEnv(), [
      "--topic",
      s.topic,
      "--seed",
      String(SEED),
      "--count",
      String(count),
      "--rate",
      String(rate),
    ]);
    const kills: string[] = [];
    for (let k = 0; k < 5; k++) {
      proc = new ConsumerProcess(env, ["--from-beginning", "--summary-interval", "1000"]);
      await proc.waitFor(/joined group/, 60_000);
      const delay = Math.round(500 + random() * sized(2_500, 9_000));
      await sleep(delay);
      const before = storedIds(s.dir).size;
      proc.kill("SIGKILL");
      assert.notEqual(await proc.exit(), 0);
      proc = undefined;
      const visible = await checkedLocal(s.dir); // throws on a partial or foreign visible file
      kills.push(
        `kill ${k + 1} after ${delay} ms (stored ${before}, ${visible.ids.size} checked, ` +
          `${visible.tempFiles.length} hidden temp files)`,
      );
    }
    const run = await producer.result();
    assert.equal(run.code, 0, run.stderr);
    bad += await sprinkleBad(s.topic, "kill-b");
    const acked = run.deliveries.filter((d) => d.status === "acked").map((d) => d.key!);
    assert.equal(acked.length, count, "the producer acked every order");
    assert.equal(run.summary.sent, count);

    proc = new ConsumerProcess(env, [
      "--from-beginning",
      "--until-idle",
      "3000",
      "--summary-interval",
      "0",
    ]);
    assert.equal(await proc.exit(sized(180_000, 600_000)), 0, proc.lines.join("\n"));
    proc = undefined;
    const result = await reconcile(s, new Set(acked), bad);
    console.error(`  ${kills.join("; ")}; final: ${JSON.stringify(result)}`);
  } finally {
    if (proc !== undefined) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already exited
      }
      await proc.exit().catch(() => undefined);
    }
    await cleanup(s);
  }
});
