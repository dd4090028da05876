import assert from "node:assert/strict";
import { LocalSink } from "./local.ts";
import { SinkWriteError } from "./types.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

const NOW = Date.parse("2026-12-06T10:00:00Z");
const MIN = 60_000;

/** Creates `path` (and its directories) under `root`, last modified `ageMs` before {@linkcode NOW}. */
async function fileAged(root: string, path: string, ageMs: number): Promise<void> {
  const full = `${root}/${path}`;
  await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(full, "{");
  await Deno.utime(full, new Date(NOW - ageMs), new Date(NOW - ageMs));
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("LocalSink sweep: removes its own temp and probe files older than the age, nothing else", async () => {
  const root = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    const today = "orders/dt=2026-12-06";
    await fileAged(root, `${today}/.orderId=a.json.0123456789ab.tmp`, 61 * MIN); // killed writer
    await fileAged(root, `${today}/.orderId=b.json.0123456789ab.tmp`, 1 * MIN); // live writer
    await fileAged(root, `${today}/orderId=a.json`, 600 * MIN); // an order
    await fileAged(root, `${today}/.notes.tmp`, 600 * MIN); // not a name the sink makes
    await fileAged(root, `${today}/.orderId=c.json.0123456789ab.tmp.x`, 600 * MIN);
    await fileAged(root, ".probe.0123456789ab", 120 * MIN);
    await fileAged(outside, ".orderId=o.json.0123456789ab.tmp", 600 * MIN);
    await Deno.symlink(outside, `${root}/${today}/link`); // not followed
    const lines: string[] = [];
    const sink = new LocalSink({ dir: root, now: () => NOW, log: (l) => lines.push(l) });
    await sink.probe();
    const report = await sink.sweepStaleTemps();
    assert.deepEqual(report.removed.toSorted(), [
      ".probe.0123456789ab",
      `${today}/.orderId=a.json.0123456789ab.tmp`,
    ]);
    assert.equal(report.failed, 0);
    assert.deepEqual([...Deno.readDirSync(`${root}/${today}`)].map((e) => e.name).sort(), [
      ".notes.tmp",
      ".orderId=b.json.0123456789ab.tmp",
      ".orderId=c.json.0123456789ab.tmp.x",
      "link",
      "orderId=a.json",
    ]);
    assert.ok(await exists(`${outside}/.orderId=o.json.0123456789ab.tmp`));
    assert.deepEqual(lines, [
      `local sink: removed 2 stale temp file(s) older than 60 min under ${root}`,
    ]);
    await sink.close();
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("LocalSink sweep: enters today's and yesterday's dt= directories and recently changed ones only", async () => {
  const root = await Deno.makeTempDir();
  try {
    const tmp = (dir: string) => `orders/${dir}/.orderId=x.json.0123456789ab.tmp`;
    const dirs = {
      // [directory, its mtime's age, swept?]
      today: ["dt=2026-12-06", 30 * 86_400_000, true],
      yesterday: ["dt=2026-12-05/part=3", 30 * 86_400_000, true], // batched: nested
      older: ["dt=2026-12-04", 3 * 86_400_000, false],
      lateWrite: ["dt=2020-01-02", 47 * 60 * MIN, true], // a late order's write changed it
      untouched: ["dt=2020-01-01", 30 * 86_400_000, false],
      notDate: ["misc", 30 * 86_400_000, true],
    } as const;
    for (const [dir, age] of Object.values(dirs)) {
      await fileAged(root, tmp(dir), 120 * MIN);
      for (const d of [`orders/${dir}`, `orders/${dir.split("/")[0]}`]) {
        await Deno.utime(`${root}/${d}`, new Date(NOW - age), new Date(NOW - age));
      }
    }
    const sink = new LocalSink({ dir: root, now: () => NOW });
    const report = await sink.sweepStaleTemps();
    for (const [name, [dir, , swept]] of Object.entries(dirs)) {
      assert.equal(await exists(`${root}/${tmp(dir)}`), !swept, name);
    }
    assert.equal(report.removed.length, 4);
    await sink.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalSink sweep: starts with the first probe, not a write, and runs once", async () => {
  const root = await Deno.makeTempDir();
  try {
    const first = "orders/dt=2026-12-06/.orderId=a.json.0123456789ab.tmp";
    const second = "orders/dt=2026-12-06/.orderId=b.json.0123456789ab.tmp";
    await fileAged(root, first, 120 * MIN);
    const lines: string[] = [];
    const sink = new LocalSink({ dir: root, now: () => NOW, log: (l) => lines.push(l) });
    await sink.write("orders/dt=2026-12-06/orderId=a.json", enc.encode("{}"), pos);
    assert.ok(await exists(`${root}/${first}`), "a write does not sweep");
    await sink.probe();
    // Not awaited by the probe: poll for its effect instead of starting it here.
    for (let i = 0; i < 200 && lines.length === 0; i++) await delay(10);
    assert.ok(!(await exists(`${root}/${first}`)), "the probe started the sweep");
    assert.equal(lines.length, 1);
    await fileAged(root, second, 120 * MIN);
    await sink.probe();
    assert.deepEqual((await sink.sweepStaleTemps()).removed, [first], "the same, single sweep");
    assert.ok(await exists(`${root}/${second}`));
    assert.equal(lines.length, 1);
    await sink.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalSink.write(): a temp file removed before its rename fails the write retryably", async () => {
  // What makes the sweep safe next to a live writer it misjudged: the write is retried, not lost.
  const root = await Deno.makeTempDir();
  const rename = Deno.rename;
  try {
    const sink = new LocalSink({ dir: root, sync: false });
    Deno.rename = async (from, to) => {
      Deno.rename = rename;
      await Deno.remove(from); // a sweep got there first
      await rename(from, to);
    };
    const key = "orders/dt=2026-12-06/orderId=a.json";
    await assert.rejects(
      sink.write(key, enc.encode('{"a":1}'), pos),
      (e: unknown) => e instanceof SinkWriteError && e.retryable,
    );
    await sink.write(key, enc.encode('{"a":1}'), pos);
    assert.equal(await Deno.readTextFile(`${root}/${key}`), '{"a":1}');
    await sink.close();
  } finally {
    Deno.rename = rename;
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalSink sweep: close() stops it at its next step and waits for that", async () => {
  // A consumer's shutdown deadline must not wait for a sweep of a large tree.
  const root = await Deno.makeTempDir();
  try {
    const tmp = "orders/dt=2026-12-06/.orderId=a.json.0123456789ab.tmp";
    await fileAged(root, tmp, 120 * MIN);
    const sink = new LocalSink({ dir: root, now: () => NOW });
    const probed = sink.probe(); // starts the sweep: its first listing is in flight
    await sink.close();
    await probed;
    assert.deepEqual((await sink.sweepStaleTemps()).removed, []);
    assert.ok(await exists(`${root}/${tmp}`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
