import assert from "node:assert/strict";
import { LocalSink } from "./local.ts";
import { SinkWriteError } from "./types.ts";

const enc = new TextEncoder();
const pos = { partition: 0, offset: "0" };

Deno.test("LocalSink.write() stores the body under the key and overwrites on replay", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir });
    const key = "orders/dt=2026-11-26/orderId=ord-1.json";
    await sink.write(key, enc.encode('{"a":1}'), pos);
    await sink.write(key, enc.encode('{"a":2}'), pos);
    assert.equal(await Deno.readTextFile(`${dir}/${key}`), '{"a":2}');
    const names = [...Deno.readDirSync(`${dir}/orders/dt=2026-11-26`)].map((e) => e.name);
    assert.deepEqual(names, ["orderId=ord-1.json"]); // no temp files left behind
    await sink.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LocalSink.write() rejects keys escaping the root, non-retryable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir, sync: false });
    for (
      const key of [
        "../x.json",
        "orders/../../etc/passwd",
        "/etc/passwd",
        "orders//a.json",
        "orders/./a.json",
        "orders/a\\..\\b.json",
        "orders/a\n.json",
        "",
      ]
    ) {
      await assert.rejects(
        sink.write(key, enc.encode("x"), pos),
        (e: unknown) => e instanceof SinkWriteError && !e.retryable,
        key,
      );
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LocalSink.write() handles many concurrent writes into a fresh directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir, sync: false });
    await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) =>
          sink.write(`orders/dt=2026-01-0${i % 3 + 1}/orderId=o${i}.json`, enc.encode(`${i}`), pos),
      ),
    );
    let count = 0;
    for (const d of Deno.readDirSync(`${dir}/orders`)) {
      count += [...Deno.readDirSync(`${dir}/orders/${d.name}`)].length;
    }
    assert.equal(count, 200);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LocalSink.write() fails retryably when the root is not writable, probe() too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const blocker = `${dir}/file`;
    await Deno.writeTextFile(blocker, "x"); // a file where the root directory should be
    const sink = new LocalSink({ dir: blocker, sync: false });
    await assert.rejects(
      sink.write("orders/a.json", enc.encode("x"), pos),
      (e: unknown) => e instanceof SinkWriteError && e.retryable,
    );
    await assert.rejects(sink.probe());
    await new LocalSink({ dir }).probe();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
