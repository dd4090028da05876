/**
 * `consumer/main.ts` with COS IAM auth (`COS_AUTH=iam`: API key + service instance id, tokens
 * from the local IAM stand-in of `dev/s3.sh`) against the real broker and S3 server. Runs the
 * consumer as a subprocess: ibm-cos-sdk's IAM mode keeps a token-refresh timer that an
 * in-process test would have to excuse from Deno's sanitizers.
 *
 * Two recording forwarders sit in front of IAM and the IAM front of the S3 server, so the test
 * sees that the S3 requests carry the bearer token IAM issued (the front refuses any other).
 */
import assert from "node:assert/strict";
import { s3Env } from "./_infra.ts";
import {
  bucketKeys,
  bucketObject,
  cleanup,
  consumerEnv,
  ConsumerProcess,
  createBucket,
  deleteBucket,
  dtOf,
  produce,
  readDlq,
  type Scenario,
  scenario,
  validOrders,
} from "./consumer_support.ts";

/** An HTTP forwarder to `target` that records each request's method and Authorization. */
class Recorder {
  readonly requests: { method: string; path: string; authorization: string | null }[] = [];
  /** Bodies of the upstream's answers (for IAM: the issued tokens). */
  readonly answers: string[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #target: string;
  readonly #keepAnswers: boolean;

  constructor(target: string, keepAnswers = false) {
    this.#target = target.replace(/\/$/, "");
    this.#keepAnswers = keepAnswers;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#forward(req),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #forward(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.requests.push({
      method: req.method,
      path: url.pathname,
      authorization: req.headers.get("authorization"),
    });
    const headers = new Headers(req.headers);
    headers.delete("host");
    headers.delete("content-length");
    const body = req.method === "GET" || req.method === "HEAD"
      ? undefined
      : await req.arrayBuffer();
    const res = await fetch(`${this.#target}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const data = req.method === "HEAD" ? null : await res.arrayBuffer();
    if (this.#keepAnswers && data !== null) this.answers.push(new TextDecoder().decode(data));
    const out = new Headers(res.headers);
    out.delete("content-length");
    out.delete("content-encoding");
    out.delete("transfer-encoding");
    return new Response(data, { status: res.status, headers: out });
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}

interface IamSetup {
  readonly s: Scenario;
  readonly bucket: string;
  readonly env: Record<string, string>;
}

async function iamSetup(name: string, cosEndpoint: string, authEndpoint: string, apiKey?: string) {
  const s = await scenario(name, 3);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  await createBucket(bucket); // through HMAC: the test's own admin access
  const local = s3Env();
  const env = consumerEnv(s, {
    SINK: "cos",
    COS_AUTH: "iam",
    COS_ENDPOINT: cosEndpoint,
    COS_BUCKET: bucket,
    COS_API_KEY: apiKey ?? local.COS_API_KEY!,
    COS_INSTANCE_ID: local.COS_INSTANCE_ID!,
    COS_AUTH_ENDPOINT: authEndpoint,
    CONSUMER_SESSION_TIMEOUT_MS: "6000",
    HTTP_PORT: "0",
  });
  return { s, bucket, env } satisfies IamSetup;
}

async function stop(proc: ConsumerProcess | undefined): Promise<void> {
  if (proc === undefined) return;
  try {
    proc.kill("SIGKILL");
  } catch {
    // already exited
  }
  await proc.exit().catch(() => undefined);
}

Deno.test("consume with COS_AUTH=iam stores every order in the bucket with IAM bearer tokens", async () => {
  const local = s3Env();
  const iam = new Recorder(local.COS_AUTH_ENDPOINT!.replace(/\/identity\/token$/, ""), true);
  const s3 = new Recorder(local.COS_IAM_ENDPOINT!);
  const t = await iamSetup("iam", s3.url, `${iam.url}/identity/token`);
  let proc: ConsumerProcess | undefined;
  try {
    const n = 200;
    const produced = validOrders("iam", n);
    await produce(t.s.topic, produced);
    proc = new ConsumerProcess(t.env, ["--until-idle", "1500", "--summary-interval", "0"]);
    assert.equal(await proc.exit(50_000), 0, proc.lines.join("\n"));
    proc = undefined;

    const keys = await bucketKeys("orders/", t.bucket);
    assert.deepEqual(
      keys.sort(),
      produced.map((m, i) => `orders/dt=${dtOf(i)}/orderId=${m.key}.json`).sort(),
    );
    const body = JSON.parse(
      await bucketObject(`orders/dt=${dtOf(7)}/orderId=iam-7.json`, t.bucket),
    );
    assert.equal(body.orderId, "iam-7");
    assert.equal(typeof body.risk_score, "number");
    assert.equal((await readDlq(t.s.dlq)).length, 0); // produced = stored + dead-lettered

    // IAM issued tokens (the start-up check's and the SDK's), and every S3 request carried one.
    const tokens = new Set(iam.answers.map((a) => `Bearer ${JSON.parse(a).access_token}`));
    assert.ok(tokens.size >= 1 && iam.requests.length >= 2, JSON.stringify(iam.requests));
    assert.ok(s3.requests.filter((r) => r.method === "PUT").length >= n);
    for (const r of s3.requests) {
      assert.ok(tokens.has(r.authorization ?? ""), `${r.method} ${r.path}: ${r.authorization}`);
    }
  } finally {
    await stop(proc);
    await Promise.all([iam.close(), s3.close()]);
    await deleteBucket(t.bucket);
    await cleanup(t.s);
  }
});

Deno.test("consume with a wrong COS_API_KEY stops at start with IAM's answer and exit 2", async () => {
  const local = s3Env();
  const wrongKey = "wrong-key-0123456789abcdef";
  const t = await iamSetup("iam-bad", local.COS_IAM_ENDPOINT!, local.COS_AUTH_ENDPOINT!, wrongKey);
  let proc: ConsumerProcess | undefined;
  try {
    await produce(t.s.topic, validOrders("bad", 5));
    const t0 = performance.now();
    proc = new ConsumerProcess(t.env, ["--summary-interval", "0"]);
    const code = await proc.exit(30_000);
    const log = proc.lines.join("\n");
    proc = undefined;
    assert.equal(code, 2, log);
    assert.ok(performance.now() - t0 < 20_000, "stopped at start, did not retry");
    assert.match(
      log,
      new RegExp(
        `Cannot start the consumer: IAM rejected the COS API key: IAM at ${
          RegExp.escape(local.COS_AUTH_ENDPOINT!)
        } answered HTTP 400: BXNIM0415E Provided API key could not be found`,
      ),
    );
    assert.match(log, /Fix: set COS_API_KEY to the apikey of a current COS service credential/);
    assert.ok(!log.includes(wrongKey), "the API key is never printed");
    assert.doesNotMatch(log, /joined group/);
    assert.deepEqual(await bucketKeys("orders/", t.bucket), []);
  } finally {
    await stop(proc);
    await deleteBucket(t.bucket);
    await cleanup(t.s);
  }
});

Deno.test("consume starts and retries when IAM is unreachable at start (an outage, not bad settings)", async () => {
  const local = s3Env();
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close(); // nothing listens there now: connection refused
  const t = await iamSetup(
    "iam-down",
    local.COS_IAM_ENDPOINT!,
    `http://127.0.0.1:${port}/identity/token`,
  );
  let proc: ConsumerProcess | undefined;
  try {
    proc = new ConsumerProcess(t.env, ["--summary-interval", "0", "--shutdown-timeout", "3000"]);
    await proc.waitFor(/sink not ready yet \(will retry on write\): Cannot reach IAM/, 20_000);
    await proc.waitFor(/joined group/, 30_000);
    proc.kill("SIGTERM");
    assert.equal(await proc.exit(20_000), 0, proc.lines.join("\n"));
    proc = undefined;
  } finally {
    await stop(proc);
    await deleteBucket(t.bucket);
    await cleanup(t.s);
  }
});
