/**
 * IAM tokens expire mid-stream: `deno task consume`'s process (COS sink, `COS_AUTH=iam`) streams
 * through a private S3 server whose IAM issues short-lived tokens and whose IAM front refuses an
 * expired one with 403 AccessDenied, as COS does. The sink gets fresh tokens before the old ones
 * expire; a request that still reaches the front after its token expired (queued on a loaded
 * machine) is renewed and retried by the sink: the consumer never pauses or counts a failure,
 * nothing is lost.
 *
 * Size: CI streams 25 s with 5 s tokens (at least four lifetimes end mid-stream, so a client that
 * kept its first token would be refused within the first 5 s and again after every refresh it
 * skipped); `SOAK=1` streams 60 s with 10 s tokens.
 */
import assert from "node:assert/strict";
import { createCosClient } from "../clients/cos.ts";
import { CosSink } from "../consumer/sinks/cos.ts";
import { cleanup, consumerEnv, ConsumerProcess, scenario, until } from "./consumer_support.ts";
import { plaintextEnv, ProducerProcess, sized } from "./fault_support.ts";
import { PrivateS3 } from "./s3_support.ts";

function idsOf(keys: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const k of keys) {
    const m = /^orders\/dt=[0-9-]+\/orderId=(.+)\.json$/.exec(k);
    if (m !== null) out.add(m[1]!);
  }
  return out;
}

Deno.test("consume with IAM tokens expiring mid-stream renews them: no failure counted, 0 lost", async () => {
  const lifetimeS = sized(5, 10);
  const streamS = sized(25, 60);
  const rate = 100;
  const count = streamS * rate;
  const s3 = await PrivateS3.start({ tokenLifetimeS: lifetimeS });
  const s = await scenario("iam-expiry", 3);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  let proc: ConsumerProcess | undefined;
  try {
    await s3.createBucket(bucket);
    proc = new ConsumerProcess(
      plaintextEnv(consumerEnv(s, {
        SINK: "cos",
        COS_AUTH: "iam",
        COS_ENDPOINT: s3.env.COS_IAM_ENDPOINT!,
        COS_BUCKET: bucket,
        COS_API_KEY: s3.env.COS_API_KEY!,
        COS_INSTANCE_ID: s3.env.COS_INSTANCE_ID!,
        COS_AUTH_ENDPOINT: s3.env.COS_AUTH_ENDPOINT!,
        CONSUMER_SESSION_TIMEOUT_MS: "6000",
      })),
      ["--from-beginning", "--summary-interval", "1000"],
    );
    await proc.waitFor(/joined group/, 60_000);
    const started = Date.now();
    const run = await new ProducerProcess(plaintextEnv(), [
      "--topic",
      s.topic,
      "--seed",
      "1414",
      "--count",
      String(count),
      "--rate",
      String(rate),
    ]).result();
    assert.equal(run.code, 0, run.stderr);
    const acked = run.deliveries.filter((d) => d.status === "acked").map((d) => d.key!);
    assert.equal(acked.length, count);
    await until(
      "every order in the bucket",
      async () => idsOf(await s3.keys(bucket, "orders/")).size >= count,
      60_000,
      1_000,
    );
    const streamedS = (Date.now() - started) / 1000;

    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0, proc.lines.join("\n"));
    const log = proc.lines.join("\n");
    proc = undefined;

    const stored = idsOf(await s3.keys(bucket, "orders/"));
    const missing = acked.filter((id) => !stored.has(id));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acked orders not stored`);
    assert.equal(stored.size, count);
    const sample = acked[Math.floor(count / 2)]!;
    const key = (await s3.keys(bucket, "orders/")).find((k) => k.endsWith(`=${sample}.json`))!;
    assert.equal(JSON.parse(await s3.object(bucket, key)).orderId, sample);

    const stats = await (await fetch(`${s3.env.COS_IAM_ENDPOINT}/_front/stats`)).json();
    // The stream outlived several tokens, and every request the front saw carried a live one.
    const lifetimes = Math.floor(streamedS / lifetimeS);
    assert.ok(lifetimes >= 4, `the stream lasted ${streamedS} s: ${lifetimes} token lifetimes`);
    assert.ok(
      stats.tokens >= lifetimes,
      `${stats.tokens} distinct tokens over ${lifetimes} lifetimes: ${JSON.stringify(stats)}`,
    );
    // Expired refusals are allowed (the sink's retry path); any other refusal is not.
    assert.deepEqual({ ...stats.refused, expired: 0 }, {
      missing: 0,
      malformed: 0,
      unknown: 0,
      expired: 0,
    });
    assert.doesNotMatch(log, /paused:|retrying|Access Denied|AccessDenied/);
    assert.equal(log.match(/joined group/g)?.length, 1);
    console.error(
      `  ${count} orders over ${streamedS.toFixed(1)} s, token lifetime ${lifetimeS} s, ` +
        `front: ${JSON.stringify(stats)}`,
    );
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
    await s3.destroy();
  }
});

Deno.test(
  "COS sink renews the token and retries once when COS refuses a token the SDK thinks valid",
  // ibm-cos-sdk arms an unref'd timer to renew the token at 75% of its lifetime; it cannot be
  // cleared from outside.
  { sanitizeOps: false },
  async () => {
    const s3 = await PrivateS3.start();
    try {
      const cos = {
        endpoint: s3.env.COS_IAM_ENDPOINT!,
        bucket: "orderflow",
        auth: {
          kind: "iam" as const,
          apiKey: s3.env.COS_API_KEY!,
          serviceInstanceId: s3.env.COS_INSTANCE_ID!,
          authEndpoint: s3.env.COS_AUTH_ENDPOINT!,
        },
      };
      const sink = new CosSink({ client: createCosClient(cos, { maxRetries: 0 }), cos });
      const body = (id: string) => new TextEncoder().encode(JSON.stringify({ orderId: id }));
      await sink.write("orders/dt=2026-11-01/orderId=r-1.json", body("r-1"));
      // Rotating the local IAM's signing key revokes every token issued so far: the front now
      // refuses the SDK's cached token (403 AccessDenied) although it has an hour left.
      await Deno.writeTextFile(`${s3.dir}/token_key`, crypto.randomUUID());
      await sink.write("orders/dt=2026-11-01/orderId=r-2.json", body("r-2"));
      assert.equal(sink.renewedOnRefusal, 1);
      assert.equal(
        JSON.parse(await s3.object("orderflow", "orders/dt=2026-11-01/orderId=r-2.json")).orderId,
        "r-2",
      );
      const stats = await (await fetch(`${s3.env.COS_IAM_ENDPOINT}/_front/stats`)).json();
      assert.equal(stats.refused.unknown, 1);
      assert.equal(stats.tokens, 2);
    } finally {
      await s3.destroy();
    }
  },
);
