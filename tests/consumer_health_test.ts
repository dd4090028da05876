/**
 * `/healthz` and `/readyz` of `consumer/main.ts` before the consumer joins its group: the HTTP
 * server starts before Kafka is reached, so an orchestrator sees the process alive (200) and not
 * ready (503, "not joined") while the broker is down, and ready once it joined.
 */
import assert from "node:assert/strict";
import { cleanup, consumerEnv, ConsumerProcess, scenario, until } from "./consumer_support.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function get(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined; // not listening (yet)
  }
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

Deno.test("consume answers /healthz 200 and /readyz 503 while the broker is down at start", async () => {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  let proc: ConsumerProcess | undefined = new ConsumerProcess({
    KAFKA_BROKERS: `127.0.0.1:${freePort()}`, // nothing listens: connection refused
    KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
    ORDERS_TOPIC: "orders-health-down",
    DLQ_TOPIC: "orders-health-down.dlq",
    CONSUMER_GROUP: "health-down",
    SINK: "local",
    SINK_DIR: "./data/test/health-down",
    HTTP_HOST: "127.0.0.1",
    HTTP_PORT: String(port),
  }, ["--summary-interval", "0"]);
  try {
    let health: { status: number; body: string } | undefined;
    await until(
      "/healthz answers",
      async () => (health = await get(`${base}/healthz`)) !== undefined,
      10_000,
    );
    assert.equal(health!.status, 200, health!.body);
    const ready = await get(`${base}/readyz`);
    assert.equal(ready?.status, 503);
    assert.match(ready!.body, /not joined/);
    assert.ok(!proc.lines.some((l) => /joined group/.test(l)));
    assert.equal(await proc.exit(40_000), 1, proc.lines.join("\n")); // gives up: broker down
    proc = undefined;
  } finally {
    await stop(proc);
  }
});

Deno.test("consume answers /readyz 200 once joined to its group", async () => {
  const s = await scenario("health", 1);
  const port = freePort();
  let proc: ConsumerProcess | undefined;
  try {
    proc = new ConsumerProcess(
      consumerEnv(s, { HTTP_HOST: "127.0.0.1", HTTP_PORT: String(port) }),
      ["--summary-interval", "0"],
    );
    await proc.waitFor(/joined group/, 30_000);
    await until(
      "/readyz 200",
      async () => (await get(`http://127.0.0.1:${port}/readyz`))?.status === 200,
      10_000,
    );
    proc.kill("SIGTERM");
    assert.equal(await proc.exit(20_000), 0, proc.lines.join("\n"));
    proc = undefined;
  } finally {
    await stop(proc);
    await cleanup(s);
  }
});
