/**
 * Zombie writer, batched layout on COS: a member whose segment write is held up on the way to
 * the storage endpoint, and that then freezes past the session timeout, must not erase records
 * that the partition's new owner stored and committed when the held write finally lands.
 *
 * Sequence (each round, on one partition, against the real broker and S3 server):
 * 1. member A stores the open segment's first records (a tail write, nothing committed);
 * 2. its next tail write is held by {@linkcode HoldingProxy} in front of the S3 server;
 * 3. A is frozen (SIGSTOP) and the group evicts it;
 * 4. member B takes the partition, re-reads it, seals the segment, writes it whole and commits;
 * 5. A's held write is released and lands.
 *
 * Then every committed order must be readable by the layout's read rule, once. `SOAK=1` runs
 * several takeovers in a row (each round's B is the next round's A).
 */
import assert from "node:assert/strict";
import { readableSegments } from "../consumer/sinks/segment_key.ts";
import {
  bucketKeys,
  bucketObject,
  cleanup,
  committed,
  consumerEnv,
  ConsumerProcess,
  createBucket,
  deleteBucket,
  produce,
  scenario,
  until,
  validOrders,
} from "./consumer_support.ts";
import { sized } from "./fault_support.ts";

const SEGMENT = 1000;
/**
 * Holds every byte clients send on connections opened while holding, until `release()`; then
 * replays them to the S3 server on a fresh connection. Other connections pass straight through.
 * A network that delivers a request late, as a congested link or a stuck connection would.
 */
class HoldingProxy {
  readonly port: number;
  readonly #listener: Deno.Listener;
  readonly #target: { hostname: string; port: number };
  #holding = false;
  #gate = Promise.withResolvers<void>();
  readonly #held: { bytes: Uint8Array[]; answered: boolean }[] = [];
  readonly #conns = new Set<Deno.Conn>();

  constructor(target: { hostname: string; port: number }) {
    this.#target = target;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    void (async () => {
      try {
        for await (const conn of listener) void this.#serve(conn);
      } catch {
        // closed
      }
    })();
  }

  /** New connections are held from now on (forgetting earlier held ones); open ones are cut. */
  hold(): void {
    this.#holding = true;
    this.#held.length = 0;
    this.#gate = Promise.withResolvers<void>();
    for (const c of this.#conns) this.#close(c);
  }

  /** Lets held connections go on to the server; new ones pass straight through. */
  release(): void {
    this.#holding = false;
    this.#gate.resolve();
  }

  /** Complete HTTP PUT requests held so far (their bodies, as text). */
  heldPuts(): string[] {
    const out: string[] = [];
    for (const h of this.#held) {
      const text = new TextDecoder().decode(concat(h.bytes));
      for (let at = 0; at < text.length;) {
        const end = text.indexOf("\r\n\r\n", at);
        if (end < 0) break;
        const head = text.slice(at, end);
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (end + 4 + length > text.length) break;
        if (head.startsWith("PUT ")) out.push(text.slice(end + 4, end + 4 + length));
        at = end + 4 + length;
      }
    }
    return out;
  }

  /** Connections held since the last `hold()` that the server has answered. */
  answered(): number {
    return this.#held.filter((h) => h.answered).length;
  }

  #close(c: Deno.Conn): void {
    this.#conns.delete(c);
    try {
      c.close();
    } catch {
      // already closed
    }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    let upstream: Deno.Conn | undefined;
    try {
      if (!this.#holding) {
        upstream = await Deno.connect(this.#target);
        await Promise.allSettled([
          client.readable.pipeTo(upstream.writable),
          upstream.readable.pipeTo(client.writable),
        ]);
        return;
      }
      // Held: read what the client sends (it may give up and close: the bytes are still sent).
      const held = { bytes: [] as Uint8Array[], answered: false };
      this.#held.push(held);
      const gate = this.#gate.promise;
      const reader = client.readable.getReader();
      const reading = (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            held.bytes.push(value);
          }
        } catch {
          // the client went away
        }
      })();
      await gate;
      upstream = await Deno.connect(this.#target);
      const writer = upstream.writable.getWriter();
      await writer.write(concat(held.bytes));
      const sent = held.bytes.length;
      await Promise.race([reading, new Promise((r) => setTimeout(r, 200))]);
      if (held.bytes.length > sent) await writer.write(concat(held.bytes.slice(sent)));
      const answer = upstream.readable.getReader();
      const first = await answer.read();
      held.answered = !first.done;
      answer.releaseLock();
      writer.releaseLock();
    } catch {
      // a cut connection: that is the point of hold()
    } finally {
      this.#close(client);
      if (upstream !== undefined) {
        try {
          upstream.close();
        } catch {
          // already closed
        }
      }
    }
  }

  close(): void {
    this.#listener.close();
    for (const c of this.#conns) this.#close(c);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Distinct order IDs in the PUT requests the proxy holds. */
function heldOrderIds(proxy: HoldingProxy): Set<string> {
  const ids = new Set<string>();
  for (const body of proxy.heldPuts()) {
    for (const line of body.split("\n")) if (line !== "") ids.add(String(JSON.parse(line).orderId));
  }
  return ids;
}

/** Order IDs readable from the bucket by the batched layout's read rule, with their counts. */
async function readableOrders(bucket: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const s of readableSegments(await bucketKeys("orders/", bucket))) {
    for (const line of (await bucketObject(s.key, bucket)).split("\n")) {
      if (line === "") continue;
      const id = String(JSON.parse(line).orderId);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

Deno.test("batched layout on COS: a zombie member's late segment write cannot erase committed orders", async () => {
  const rounds = sized(1, 3);
  const s = await scenario("zombie", 1);
  const bucket = s.topic.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const cosEnv = await createBucket(bucket);
  const s3 = new URL(cosEnv.COS_ENDPOINT!);
  const proxy = new HoldingProxy({ hostname: s3.hostname, port: Number(s3.port) });
  const env = (endpoint: string) =>
    consumerEnv(s, {
      ...cosEnv,
      COS_ENDPOINT: endpoint,
      SINK_LAYOUT: "batched",
      CONSUMER_SESSION_TIMEOUT_MS: "6000",
      HTTP_PORT: "0",
    });
  const args = ["--batch-records", String(SEGMENT), "--batch-max-age", "500"];
  const members: ConsumerProcess[] = [];
  try {
    // Round r: A (through the proxy) owns the partition; offsets [r·SEGMENT, (r+1)·SEGMENT).
    let a = new ConsumerProcess(env(`http://127.0.0.1:${proxy.port}`), args);
    members.push(a);
    for (let r = 0; r < rounds; r++) {
      const base = r * SEGMENT;
      await produce(s.topic, validOrders(`z${r}`, 300, 0));
      await until(
        `round ${r}: A writes the open segment's first 300 orders`,
        async () => (await readableOrders(bucket)).size >= base + 300,
        60_000,
        250,
      );
      proxy.hold();
      await produce(s.topic, validOrders(`z${r}`, 200, 300));
      await until(
        `round ${r}: A sends a tail write of 500 orders (held)`,
        () => heldOrderIds(proxy).size >= 500,
        30_000,
      );
      a.kill("SIGSTOP");
      const b = new ConsumerProcess(env(cosEnv.COS_ENDPOINT!), args);
      members.push(b);
      await produce(s.topic, validOrders(`z${r}`, SEGMENT - 500, 500));
      await until(
        `round ${r}: B seals the segment and commits offset ${base + SEGMENT}`,
        async () => (await committed(s.group, s.topic)).get(0) === BigInt(base + SEGMENT),
        60_000,
        250,
      );
      const before = await readableOrders(bucket);
      assert.equal(before.size, base + SEGMENT, `round ${r}: B stored the whole segment`);
      proxy.release();
      await until(`round ${r}: the held write lands`, () => proxy.answered() > 0, 30_000);
      const after = await readableOrders(bucket);
      const lost = [...before.keys()].filter((id) => !after.has(id));
      assert.equal(lost.length, 0, `round ${r}: committed orders erased by the late write`);
      assert.ok([...after.values()].every((n) => n === 1), `round ${r}: an order read twice`);
      a.kill("SIGKILL");
      await a.exit();
      b.kill("SIGTERM");
      assert.equal(await b.exit(), 0, b.lines.join("\n"));
      // The next round's A is a fresh member behind the proxy (a running one cannot be moved).
      if (r + 1 < rounds) {
        a = new ConsumerProcess(env(`http://127.0.0.1:${proxy.port}`), args);
        members.push(a);
      }
    }
  } finally {
    for (const m of members) {
      try {
        m.kill("SIGKILL");
      } catch {
        // exited
      }
    }
    proxy.close();
    await deleteBucket(bucket).catch(() => undefined);
    await cleanup(s);
  }
});
