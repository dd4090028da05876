import assert from "node:assert/strict";
import type { OrderData } from "../core/order.ts";
import { ChannelMix } from "./channel_mix.ts";
import { EdgePublisher, followPluginChannels } from "./edge.ts";
import { SyntheticOrders } from "./synthetic.ts";
import type { DeliveryReport, Publisher } from "./publisher.ts";
import type { OutgoingRecord } from "./sources.ts";

function order(id: string, channel: string, total: number): OrderData {
  return {
    orderId: id,
    customerId: "c",
    channel,
    items: [{ sku: "S", quantity: 1, unitPrice: total }],
    total,
    currency: "USD",
    createdAt: "2026-11-26T20:00:00.000Z",
  };
}

class FakePublisher implements Publisher {
  readonly sent: OutgoingRecord[] = [];
  constructor(readonly fail = false) {}
  publish(records: readonly OutgoingRecord[]): Promise<readonly DeliveryReport[]> {
    this.sent.push(...records);
    return Promise.resolve(
      records.map((record, i): DeliveryReport =>
        this.fail
          ? { status: "failed", record, error: new Error("down"), latencyMs: 1 }
          : { status: "acked", record, partition: 0, offset: String(i), latencyMs: 1 }
      ),
    );
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const records = [["a", "web", 100], ["b", "web", 900], ["c", "pos", 10], ["d", "web", 600]].map(
  ([id, channel, total]) => ({
    key: id as string,
    value: "{}",
    order: order(id as string, channel as string, total as number),
  }),
);
// web: total / 1000; pos: the fallback.
const score = (orders: readonly OrderData[]) =>
  Promise.resolve(
    orders.map((o) =>
      o.channel === "web"
        ? { score: o.total / 1000, scorer: "web", fallback: false }
        : { score: 0.3, scorer: "default", fallback: true, reason: "no_scorer" }
    ),
  );

Deno.test("EdgePublisher stamps risk headers, holds scores above the threshold, reports in input order", async () => {
  const main = new FakePublisher();
  const review = new FakePublisher();
  const edge = new EdgePublisher({
    main,
    score,
    hold: { publisher: review, topic: "orders.review", above: 0.5 },
  });
  const reports = await edge.publish(records);
  assert.deepEqual(reports.map((r) => r.record.key), ["a", "b", "c", "d"]);
  assert.deepEqual(reports.map((r) => r.topic), [
    undefined,
    "orders.review",
    undefined,
    "orders.review",
  ]);
  assert.deepEqual(main.sent.map((r) => r.key), ["a", "c"]);
  assert.deepEqual(review.sent.map((r) => r.key), ["b", "d"]);
  assert.deepEqual(review.sent[0]?.headers, { "risk.score": "0.9", "risk.scorer": "web" });
  assert.deepEqual(main.sent[1]?.headers, {
    "risk.score": "0.3",
    "risk.scorer": "default",
    "risk.fallback": "no_scorer",
  });
  assert.deepEqual(Object.fromEntries(edge.counts()), {
    web: { scored: 3, fallbacks: 0, held: 2 },
    pos: { scored: 1, fallbacks: 1, held: 0 },
  });
});

Deno.test("EdgePublisher counts only acknowledged held orders, and sends nothing unscored", async () => {
  const edge = new EdgePublisher({
    main: new FakePublisher(),
    score,
    hold: { publisher: new FakePublisher(true), topic: "r", above: 0.5 },
  });
  const reports = await edge.publish(records);
  assert.deepEqual(reports.map((r) => r.status), ["acked", "failed", "acked", "failed"]);
  assert.equal(edge.held, 0);
  const main = new FakePublisher();
  const broken = new EdgePublisher({ main, score: () => Promise.reject(new Error("closed")) });
  const failed = await broken.publish(records);
  assert.deepEqual(failed.map((r) => r.status), ["failed", "failed", "failed", "failed"]);
  assert.equal(main.sent.length, 0);
});

Deno.test("followPluginChannels() follows the plugins' channels, logs each change once, keeps the mix when none is left", async () => {
  const row = (channel: string, state: "ready" | "disabled") => ({
    channel,
    name: channel,
    file: `/p/${channel}.ts`,
    source: "manifest" as const,
    state,
    lastError: undefined,
    lastFailure: undefined,
    restarts: 0,
    busyMs: 0,
    memoryMb: 64,
    deadlineMs: 250,
    rssBytes: undefined,
    isolation: "sandbox" as const,
  });
  let status = [row("web", "ready")];
  const generator = new SyntheticOrders({ seed: 1, mix: ChannelMix.parse("web=1") });
  const logs: string[] = [];
  const stop = followPluginChannels(
    { status: () => status },
    generator,
    ["web"],
    (l) => logs.push(l),
    5,
  );
  const tick = () => new Promise((r) => setTimeout(r, 30));
  try {
    await tick();
    assert.deepEqual(logs, [], "no change, no log");
    status = [row("web", "ready"), row("pos", "ready")];
    await tick();
    assert.equal(String(generator.mix), "web=0.857,pos=0.143");
    status = [row("web", "disabled")];
    await tick();
    assert.equal(String(generator.mix), "web=0.857,pos=0.143", "no channel left: mix kept");
    assert.equal(logs.length, 2, logs.join("\n"));
    assert.match(logs[1]!, /serve no channel now/);
  } finally {
    stop();
  }
});
