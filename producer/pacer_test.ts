import assert from "node:assert/strict";
import { Pacer } from "./pacer.ts";
import { FakeClock } from "./_fake_clock.ts";

Deno.test("Pacer.take() holds the rate at 1000/s on a fake clock with 1 ms timers", async () => {
  const clock = new FakeClock();
  const pacer = new Pacer({ rate: 1000, clock });
  let taken = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop && (await pacer.take())) taken++;
  })();
  for (let ms = 0; ms < 2000; ms++) await clock.advance(1);
  stop = true;
  await clock.advance(5);
  await loop;
  // 1 initial token + 1000/s * 2 s (+ at most one more while stopping)
  assert.ok(taken >= 2000 && taken <= 2007, `took ${taken} tokens in 2 s`);
});

Deno.test("Pacer.take() stays accurate when timers fire late", async () => {
  const clock = new FakeClock();
  const pacer = new Pacer({ rate: 1000, clock });
  let taken = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop && (await pacer.take())) taken++;
  })();
  // Timers only get to run every 7 ms: the bucket catches up in small bursts.
  for (let ms = 0; ms < 1001; ms += 7) await clock.advance(7);
  stop = true;
  await clock.advance(7);
  await loop;
  assert.ok(taken >= 995 && taken <= 1020, `took ${taken} tokens in ~1 s`);
});

Deno.test("Pacer caps bursts after an idle period", async () => {
  const clock = new FakeClock();
  const pacer = new Pacer({ rate: 100, burst: 5, clock });
  await clock.advance(10_000);
  let immediate = 0;
  for (let i = 0; i < 20; i++) {
    let done = false;
    const p = pacer.take().then(() => (done = true));
    await clock.advance(0);
    if (!done) {
      await clock.advance(100);
      await p;
      break;
    }
    immediate++;
  }
  assert.equal(immediate, 5);
});

Deno.test("Pacer.take() returns false when aborted while waiting", async () => {
  const clock = new FakeClock();
  const pacer = new Pacer({ rate: 1, clock });
  assert.equal(await pacer.take(), true);
  const ac = new AbortController();
  const p = pacer.take(ac.signal);
  ac.abort();
  assert.equal(await p, false);
  assert.equal(clock.pending, 0, "the sleep timer is cleared");
});

Deno.test("Pacer rejects a negative rate", () => {
  assert.throws(() => new Pacer({ rate: -1 }), RangeError);
  assert.throws(() => new Pacer({ rate: Number.NaN }), RangeError);
});
