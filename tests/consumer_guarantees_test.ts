/**
 * Guarantees of `GroupMember` found by the correctness review, on the real broker: group
 * membership survives sink writes that hang past the session timeout; a batched partition
 * re-delivered above its commit point (after a network error inside a batch) loses nothing.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { type ISocketFactory, Kafka, logLevel } from "kafkajs";
import { GroupMember } from "../consumer/group_member.ts";
import { LocalSink } from "../consumer/sinks/local.ts";
import type { Sink } from "../consumer/sinks/types.ts";
import { BatchedSink } from "../consumer/sinks/batched.ts";
import type { ScoreFn } from "../consumer/handler.ts";
import {
  cleanup,
  committed,
  plaintextKafka,
  produce,
  scenario,
  segmentsLocal,
  storedLocal,
  until,
  validOrders,
} from "./consumer_support.ts";

const score: ScoreFn = (orders) =>
  Promise.resolve(orders.map(() => ({ score: 0.5, scorer: "test", fallback: false })));

function sum(m: Map<number, bigint>): bigint {
  return [...m.values()].filter((v) => v >= 0n).reduce((a, b) => a + b, 0n);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function startWorker(
  kafka: Kafka,
  s: { topic: string; dlq: string; group: string },
  sink: Sink | BatchedSink,
  lines: string[],
  extra: Partial<Parameters<typeof GroupMember.start>[0]> = {},
): Promise<GroupMember> {
  return await GroupMember.start({
    kafka,
    topic: s.topic,
    dlqTopic: s.dlq,
    groupId: s.group,
    sink,
    score,
    summaryIntervalMs: 0,
    log: (line) => lines.push(line),
    ...extra,
  });
}

Deno.test("GroupMember keeps its group membership while sink writes hang past the session timeout", async () => {
  const s = await scenario("hbhang", 1);
  const lines: string[] = [];
  let member: GroupMember | undefined;
  try {
    await produce(s.topic, validOrders("h", 40));
    const local = new LocalSink({ dir: s.dir, sync: false });
    const hangUntil = Date.now() + 60_000; // set again once the first write starts
    let first: number | undefined;
    const sink: Sink = {
      name: "hanging",
      async write(key, body, position) {
        first ??= Date.now();
        // A stalled object store: the request neither answers nor fails for 14 s (> 6 s session).
        const wait = Math.min(hangUntil, first + 14_000) - Date.now();
        if (wait > 0) await sleep(wait);
        await local.write(key, body, position);
      },
      probe: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    member = await startWorker(plaintextKafka(), s, sink, lines, { sessionTimeout: 6000 });
    await until("40 committed", async () => sum(await committed(s.group, s.topic)) === 40n, 60_000);
    assert.equal((await storedLocal(s.dir)).size, 40);
    assert.equal(
      member.metrics().groupJoins.value,
      1,
      `no rebalance while writes hung:\n${lines.join("\n")}`,
    );
  } finally {
    await member?.stop(10_000);
    await cleanup(s);
  }
});

/**
 * A socket factory for kafkajs that the test can cut: every open connection is destroyed and new
 * ones are refused until `restore()` — a real network fault between the member and the broker.
 */
class CuttableNetwork {
  #down = false;
  readonly #sockets = new Set<net.Socket>();

  readonly factory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port: this.#down ? 1 : port }, onConnect);
    socket.setNoDelay(true);
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    return socket;
  };

  cut(): void {
    this.#down = true;
    // With an error, as a broker going away looks (a bare destroy() goes unnoticed by kafkajs
    // under Deno until its 30 s request timeout).
    const reset = Object.assign(new Error("read ECONNRESET (network cut by the test)"), {
      code: "ECONNRESET",
    });
    for (const s of this.#sockets) s.destroy(reset);
  }

  restore(): void {
    this.#down = false;
  }
}

Deno.test("GroupMember (batched) loses nothing when a network error inside a batch makes kafkajs re-deliver above the commit point", async () => {
  const s = await scenario("redeliver", 1);
  const lines: string[] = [];
  const network = new CuttableNetwork();
  let member: GroupMember | undefined;
  let restoreTimer: ReturnType<typeof setTimeout> | undefined;
  const n = 1200;
  try {
    await produce(s.topic, validOrders("r", n));
    const kafka = new Kafka({
      clientId: "ctest-redeliver",
      brokers: ["localhost:9092"],
      logLevel: logLevel.INFO,
      logCreator: () => ({ namespace, label, log }) =>
        lines.push(`kafkajs ${label} ${namespace}: ${log.message} ${log.error ?? ""}`),
      socketFactory: network.factory,
      retry: { initialRetryTime: 200, retries: 10 },
    });
    // Segments [0,400) [400,800) [800,1200); chunks of 300: when the chunk holding r-600 runs,
    // segment [400,800) holds records that were handed out (resolved) but are not durable.
    const sink = new BatchedSink({
      inner: new LocalSink({ dir: s.dir, sync: false }),
      records: 400,
      maxAgeMs: 600_000, // no tail writes: the open segment exists only in memory
      log: (line) => lines.push(line),
    });
    let cut = false;
    const flaky: ScoreFn = async (orders) => {
      if (!cut && orders.some((o) => o.orderId === "r-600")) {
        cut = true;
        network.cut();
        restoreTimer = setTimeout(() => network.restore(), 3000);
        await sleep(2500); // long enough for a heartbeat to hit the cut network
      }
      return score(orders);
    };
    member = await startWorker(kafka, s, sink, lines, {
      score: flaky,
      chunkSize: 300,
      sessionTimeout: 10_000,
    });
    await until(
      `${n} committed`,
      async () => sum(await committed(s.group, s.topic)) === BigInt(n),
      60_000,
    ).catch(async (error) => {
      const at = [...(await committed(s.group, s.topic)).values()];
      throw new RangeError(`${error.message} (committed ${at}):\n${lines.join("\n")}`);
    });
    assert.ok(cut, "the network was cut mid-batch");
    assert.ok(
      lines.some((l) => /re-delivered from \d+; re-reading from \d+/.test(l)),
      `kafkajs re-delivered above the first record not done:\n${lines.join("\n")}`,
    );
    const ids: string[] = [];
    for (const seg of (await segmentsLocal(s.dir)).values()) {
      for (const o of seg.orders) ids.push(String(o.orderId));
    }
    const missing = validOrders("r", n).map((m) => m.key!).filter((id) => !ids.includes(id));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} committed order(s) not stored`);
    assert.equal(ids.length, n, "each order in exactly one object");
    await member.stop(10_000);
    member = undefined;
    await sink.close();
  } finally {
    clearTimeout(restoreTimer);
    await member?.stop(10_000);
    await cleanup(s);
  }
});
