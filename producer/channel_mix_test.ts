import assert from "node:assert/strict";
import { ChannelMix } from "./channel_mix.ts";
import { SeededRandom } from "./random.ts";

Deno.test("ChannelMix.parse() normalises weights and accepts new channel names", () => {
  const mix = ChannelMix.parse(" web=6, partner=1 ,mobile=3,kiosk_2=0");
  assert.deepEqual(mix.weights, [
    { channel: "web", weight: 0.6 },
    { channel: "partner", weight: 0.1 },
    { channel: "mobile", weight: 0.3 },
    { channel: "kiosk_2", weight: 0 },
  ]);
});

Deno.test("ChannelMix.parse() rejects bad names, weights and duplicates", () => {
  assert.throws(() => ChannelMix.parse(""), SyntaxError);
  assert.throws(() => ChannelMix.parse("Web=1"), SyntaxError);
  assert.throws(() => ChannelMix.parse("web=1,web=2"), SyntaxError);
  assert.throws(() => ChannelMix.parse("web=-1"), RangeError);
  assert.throws(() => ChannelMix.parse("web=abc"), RangeError);
  assert.throws(() => ChannelMix.parse("web=0,mobile=0"), RangeError);
});

Deno.test("ChannelMix.pick() follows the weights and never picks a zero-weight channel", () => {
  const mix = ChannelMix.parse("web=0.6,partner=0.1,mobile=0.3,kiosk=0");
  const random = new SeededRandom(99);
  const counts: Record<string, number> = {};
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const c = mix.pick(random);
    counts[c] = (counts[c] ?? 0) + 1;
  }
  assert.equal(counts["kiosk"], undefined);
  assert.ok(Math.abs((counts["web"] ?? 0) / n - 0.6) < 0.02, JSON.stringify(counts));
  assert.ok(Math.abs((counts["partner"] ?? 0) / n - 0.1) < 0.02, JSON.stringify(counts));
  assert.ok(Math.abs((counts["mobile"] ?? 0) / n - 0.3) < 0.02, JSON.stringify(counts));
});
