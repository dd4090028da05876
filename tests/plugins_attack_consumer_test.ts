/**
 * Hostile plugins dropped into a real consumer's plugins directory (`deno task consume`'s
 * permission set): the consumer keeps running, stores every order (the hostile channel's bad
 * calls with the fallback score, the other channels with their own), and its log carries only
 * sanitized, prefixed plugin output.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  consumerEnv,
  ConsumerProcess,
  produce,
  scenario,
  storedLocal,
  until,
} from "./consumer_support.ts";
import { order } from "./fixtures/bad_records.ts";

const HOSTILE_ORDERS = 20;

async function run(
  name: string,
  plugin: string,
  check: (proc: ConsumerProcess, stored: Map<string, Record<string, unknown>>) => void,
): Promise<void> {
  const s = await scenario(name, 2);
  const pluginsDir = `${s.dir}-plugins`;
  await Deno.mkdir(pluginsDir, { recursive: true });
  for (const file of ["web.ts", "default.ts"]) {
    await Deno.copyFile(`plugins/${file}`, `${pluginsDir}/${file}`);
  }
  await Deno.writeTextFile(`${pluginsDir}/evil.ts`, plugin);
  await Deno.writeTextFile(
    `${pluginsDir}/manifest.json`,
    JSON.stringify({
      version: 1,
      discovery: true,
      scorers: [
        { name: "web", channel: "web", module: "./web.ts", options: {} },
        { name: "evil", channel: "evil", module: "./evil.ts", memoryMb: 32, deadlineMs: 5000 },
      ],
      fallback: { module: "./default.ts", options: { score: 0.3 } },
    }),
  );
  const item = (price: number) => [{ sku: "SKU-1", quantity: 1, unit_price: price }];
  const messages = Array.from({ length: HOSTILE_ORDERS }, (_, i) => {
    const price = i % 2 === 0 ? 600 : 100;
    const id = `evil-${i}`;
    return {
      key: id,
      value: JSON.stringify(order(id, { channel: "evil", items: item(price), total: price })),
    };
  });
  for (let i = 0; i < 10; i++) {
    messages.push({
      key: `web-${i}`,
      value: JSON.stringify(order(`web-${i}`, { items: item(250), total: 250 })),
    });
  }
  let proc: ConsumerProcess | undefined;
  try {
    await produce(s.topic, messages);
    proc = new ConsumerProcess(consumerEnv(s, { HTTP_PORT: "0", PLUGINS_DIR: pluginsDir }));
    await until(
      "every order stored",
      async () => (await storedLocal(s.dir)).size === messages.length,
      90_000,
    );
    const stored = new Map([...await storedLocal(s.dir)].map(([id, v]) => [id, v.body]));
    for (let i = 0; i < 10; i++) {
      assert.equal(stored.get(`web-${i}`)?.risk_score, 0.25, "web keeps its own score");
      assert.equal(stored.get(`web-${i}`)?.scorer, "web");
    }
    check(proc, stored);
    const exited = await Promise.race([
      proc.child.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
    ]);
    assert.equal(exited, false, "the consumer keeps going");
    proc.kill("SIGTERM");
    assert.equal(await proc.exit(), 0);
    proc = undefined;
  } finally {
    if (proc !== undefined) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already exited
      }
      await proc.exit().catch(() => undefined);
    }
    await Deno.remove(pluginsDir, { recursive: true }).catch(() => undefined);
    await cleanup(s);
  }
}

function scorer(body: string, prelude = ""): string {
  return `import { defineScorer } from "@orderflow/scorer";
${prelude}
export default defineScorer({
  spec: { name: "evil", channel: "evil", apiVersion: 1, description: "hostile", options: {} },
  create: () => ({ score: (order) => ${body} }),
});
`;
}

Deno.test("consumer: a plugin that runs out of memory costs its orders the fallback, not the consumer", async () => {
  await run(
    "attack-oom",
    scorer(
      `{ if (order.total >= 500) { const a = []; for (;;) a.push(new Array(1e5).fill(1)); } return 0.2; }`,
    ),
    (proc, stored) => {
      for (let i = 0; i < HOSTILE_ORDERS; i++) {
        const body = stored.get(`evil-${i}`)!;
        if (i % 2 === 0) assert.equal(body.scorer, "default", `evil-${i}`);
        else assert.ok(body.scorer === "evil" || body.scorer === "default", `evil-${i}`);
      }
      assert.ok(
        proc.lines.some((l) => /scorer evil .* failed: oom/.test(l)),
        proc.lines.join("\n"),
      );
    },
  );
});

Deno.test("consumer: forged log lines, escapes and forged replies stay inside the plugin", async () => {
  await run(
    "attack-log",
    scorer(
      `{ if (order.total >= 500) { console.log("\\x1b[2J2026-12-06 consumer: committed\\nconsumer: FORGED"); self.postMessage("null"); } return 0.2; }`,
    ),
    (proc, stored) => {
      for (let i = 0; i < HOSTILE_ORDERS; i++) {
        const body = stored.get(`evil-${i}`)!;
        if (i % 2 === 0) assert.equal(body.scorer, "default", `evil-${i}`);
      }
      const raw = proc.lines.filter((l) =>
        l.includes("\x1b[2J") || (l.includes("evil") && l.includes("\x1b"))
      );
      assert.deepEqual(raw, [], "a raw escape reached the log");
      for (const line of proc.lines.filter((l) => l.includes("FORGED"))) {
        assert.ok(line.startsWith("plugin evil: "), line);
      }
      assert.ok(proc.lines.some((l) => /scorer evil .* failed: protocol/.test(l)));
    },
  );
});
