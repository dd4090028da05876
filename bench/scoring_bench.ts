/**
 * Scoring throughput: 100k orders through the sandboxed ScoringHost (per-channel batches to
 * workers with no permissions) vs the same scorer factories called in-process.
 *
 * Run: `deno task bench:scoring` (args: `--orders N --batch B --inflight K`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { OrderData } from "../core/order.ts";
import { resolveOptions, type Scorer, type ScorerModule } from "../consumer/scoring/contract.ts";
import { type ScoreResult, ScoringHost } from "../consumer/scoring/host.ts";
import { loadManifest } from "../consumer/scoring/manifest.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    orders: { type: "string", default: "100000" },
    batch: { type: "string", default: "500" },
    inflight: { type: "string", default: "1,4" },
  },
});
const N = Number(values.orders);
const BATCH = Number(values.batch);
const INFLIGHT = values.inflight.split(",").map(Number);
const DIR = new URL("../plugins/", import.meta.url).pathname.replace(/\/$/, "");
const CHANNELS = ["web", "partner", "mobile", "web", "pos"]; // pos → fallback

function makeOrders(n: number): OrderData[] {
  const out: OrderData[] = [];
  for (let i = 0; i < n; i++) {
    const total = (i * 37) % 4000;
    out.push(Object.freeze({
      orderId: `ord-${i}`,
      customerId: `cust-${i % 977}`,
      channel: CHANNELS[i % CHANNELS.length]!,
      items: Object.freeze([
        Object.freeze({ sku: "SKU-1", quantity: 2, unitPrice: total / 4 }),
        Object.freeze({ sku: "SKU-2", quantity: 1, unitPrice: total / 2 }),
      ]),
      total,
      currency: "USD",
      createdAt: "2026-11-26T20:00:00.000Z",
    }));
  }
  return out;
}

/** In-process: the same factories, same options, same result objects and range checks. */
async function inProcess(orders: readonly OrderData[]): Promise<number> {
  const manifest = await loadManifest(DIR);
  const byChannel = new Map<string, { name: string; scorer: Scorer }>();
  for (const s of manifest.scorers) {
    const mod = (await import(`${DIR}/${s.module.slice(2)}`)).default as ScorerModule;
    byChannel.set(s.channel, {
      name: mod.spec.name,
      scorer: mod.create(resolveOptions(mod.spec, s.options)),
    });
  }
  const fb = (await import(`${DIR}/${manifest.fallback.module.slice(2)}`)).default as ScorerModule;
  const fallback = fb.create(resolveOptions(fb.spec, manifest.fallback.options));
  const start = performance.now();
  let sum = 0;
  for (let b = 0; b < orders.length; b += BATCH) {
    const batch = orders.slice(b, b + BATCH);
    const results: ScoreResult[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const order = batch[i]!;
      const s = byChannel.get(order.channel);
      const score = s?.scorer.score(order);
      results[i] = typeof score === "number" && score >= 0 && score < 1
        ? Object.freeze({ score, scorer: s!.name, fallback: false })
        : Object.freeze({
          score: fallback.score(order),
          scorer: fb.spec.name,
          fallback: true,
          reason: "no_scorer",
        });
    }
    sum += results[0]!.score;
  }
  const ms = performance.now() - start;
  if (Number.isNaN(sum)) throw new RangeError("bench produced NaN");
  return ms;
}

async function sandboxed(orders: readonly OrderData[], inflight: number): Promise<number> {
  const host = await ScoringHost.start({ pluginsDir: DIR, log: (l) => console.error(l) });
  try {
    await host.score(orders.slice(0, BATCH)); // warm up
    const start = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < orders.length) {
        const b = next;
        next += BATCH;
        const results = await host.score(orders.slice(b, b + BATCH));
        if (results.length !== Math.min(BATCH, orders.length - b)) throw new RangeError("short");
      }
    };
    await Promise.all(Array.from({ length: inflight }, lane));
    const ms = performance.now() - start;
    const m = host.metrics();
    if (m.failures.length > 0 || m.builtin > 0) {
      throw new RangeError(`sandboxed run had failures: ${JSON.stringify(m)}`);
    }
    return ms;
  } finally {
    await host.close();
  }
}

const orders = makeOrders(N);
const rate = (ms: number) => Math.round(N / (ms / 1000));
await inProcess(orders.slice(0, 5000)); // warm up JIT
const inMs = await inProcess(orders);
console.log(`orders=${N} batch=${BATCH} channels=${CHANNELS.join(",")}`);
console.log(`in-process : ${rate(inMs).toLocaleString("en-US")} orders/s (${inMs.toFixed(1)} ms)`);
for (const k of INFLIGHT) {
  const sbMs = await sandboxed(orders, k);
  console.log(
    `sandboxed  : ${rate(sbMs).toLocaleString("en-US")} orders/s (${sbMs.toFixed(1)} ms) ` +
      `inflight=${k} ratio=${(inMs / sbMs).toFixed(3)}`,
  );
}
