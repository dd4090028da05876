/**
 * The order of the local sink's file operations, recorded on the real filesystem: Deno's
 * `open`, `rename` and `FsFile` `write`/`sync`/`close` are wrapped (each still does its work)
 * and every call and completion is logged. A write must go: create the temp file in the target
 * directory → write all bytes → fsync the file → close → rename over the final name → fsync the
 * directory → resolve. Skipping or reordering any step fails these tests.
 */
import assert from "node:assert/strict";
import { LocalSink } from "./local.ts";

type Op =
  | { op: "open"; path: string; create: boolean }
  | { op: "write" | "sync" | "sync-done" | "close"; path: string }
  | { op: "rename"; from: string; to: string }
  | { op: "resolved"; key: string };

/** Runs `fn` with the filesystem calls recorded; restores them afterwards. */
async function recording(fn: (ops: Op[]) => Promise<void>): Promise<Op[]> {
  const ops: Op[] = [];
  const paths = new WeakMap<Deno.FsFile, string>();
  const proto = Deno.FsFile.prototype;
  const original = {
    open: Deno.open,
    rename: Deno.rename,
    write: proto.write,
    sync: proto.sync,
    close: proto.close,
  };
  Deno.open = async (path: string | URL, options?: Deno.OpenOptions) => {
    const file = await original.open(path, options);
    const p = String(path);
    paths.set(file, p);
    ops.push({
      op: "open",
      path: p,
      create: options?.createNew === true || options?.create === true,
    });
    return file;
  };
  Deno.rename = async (from: string | URL, to: string | URL) => {
    ops.push({ op: "rename", from: String(from), to: String(to) });
    await original.rename(from, to);
  };
  proto.write = function (this: Deno.FsFile, data: Uint8Array) {
    ops.push({ op: "write", path: paths.get(this) ?? "?" });
    return original.write.call(this, data);
  };
  proto.sync = async function (this: Deno.FsFile) {
    const path = paths.get(this) ?? "?";
    ops.push({ op: "sync", path });
    await original.sync.call(this);
    ops.push({ op: "sync-done", path });
  };
  proto.close = function (this: Deno.FsFile) {
    ops.push({ op: "close", path: paths.get(this) ?? "?" });
    return original.close.call(this);
  };
  try {
    await fn(ops);
  } finally {
    Deno.open = original.open;
    Deno.rename = original.rename;
    proto.write = original.write;
    proto.sync = original.sync;
    proto.close = original.close;
  }
  return ops;
}

const enc = new TextEncoder();

/** Index of the first op at or after `from` matching `pred` (fails when there is none). */
function find(ops: readonly Op[], what: string, pred: (o: Op) => boolean, from = 0): number {
  const i = ops.findIndex((o, k) => k >= from && pred(o));
  assert.ok(i >= 0, `no ${what} in ${JSON.stringify(ops, null, 1)}`);
  return i;
}

Deno.test("LocalSink.write(): temp file, write, fsync, close, rename, directory fsync, then durable", async () => {
  const root = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir: root });
    const dir = `${root}/orders/dt=2026-11-01`;
    await sink.write("orders/dt=2026-11-01/orderId=warm.json", enc.encode("{}")); // creates dir
    const key = "orders/dt=2026-11-01/orderId=o-1.json";
    const ops = await recording(async (ops) => {
      await sink.write(key, enc.encode('{"orderId":"o-1"}'));
      ops.push({ op: "resolved", key });
    });
    const open = ops[0];
    assert.ok(open?.op === "open" && open.create, JSON.stringify(ops));
    const tmp = open.path;
    assert.match(tmp, /\/orders\/dt=2026-11-01\/\.orderId=o-1\.json\.[0-9a-f]+\.tmp$/);
    // The exact sequence for a directory that already exists.
    assert.deepEqual(ops, [
      { op: "open", path: tmp, create: true },
      { op: "write", path: tmp },
      { op: "sync", path: tmp },
      { op: "sync-done", path: tmp },
      { op: "close", path: tmp },
      { op: "rename", from: tmp, to: `${dir}/orderId=o-1.json` },
      { op: "open", path: dir, create: false },
      { op: "sync", path: dir },
      { op: "sync-done", path: dir },
      { op: "close", path: dir },
      { op: "resolved", key },
    ]);
    assert.equal(await Deno.readTextFile(`${dir}/orderId=o-1.json`), '{"orderId":"o-1"}');
    await sink.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalSink.write() into a new directory fsyncs its parents before the file is durable", async () => {
  const root = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir: root });
    const key = "orders/dt=2026-11-02/orderId=o-2.json";
    const ops = await recording(async (ops) => {
      await sink.write(key, enc.encode('{"orderId":"o-2"}'));
      ops.push({ op: "resolved", key });
    });
    const dir = `${root}/orders/dt=2026-11-02`;
    const renamed = find(ops, "rename", (o) => o.op === "rename");
    const resolved = find(ops, "resolved", (o) => o.op === "resolved");
    // The new directory's own name is made durable in its parent (and that one's in the root).
    for (const parent of [`${root}/orders`, root]) {
      find(ops, `fsync of ${parent}`, (o) => o.op === "sync-done" && o.path === parent);
    }
    const fileSynced = find(ops, "file fsync", (o) => o.op === "sync-done" && o.path !== dir);
    assert.ok(fileSynced < renamed, "the file is fsynced before it is renamed");
    const dirSynced = find(
      ops,
      "dir fsync",
      (o) => o.op === "sync-done" && o.path === dir,
      renamed,
    );
    assert.ok(dirSynced < resolved, "the directory is fsynced after the rename, before durable");
    await sink.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalSink.write(): concurrent writers in one directory each wait for a directory fsync started after their rename", async () => {
  const root = await Deno.makeTempDir();
  try {
    const sink = new LocalSink({ dir: root });
    await sink.write("orders/dt=2026-11-03/orderId=warm.json", enc.encode("{}"));
    const dir = `${root}/orders/dt=2026-11-03`;
    const keys = Array.from({ length: 8 }, (_, i) => `orders/dt=2026-11-03/orderId=c-${i}.json`);
    const ops = await recording(async (ops) => {
      await Promise.all(keys.map(async (key, i) => {
        await sink.write(key, enc.encode(`{"orderId":"c-${i}"}`));
        ops.push({ op: "resolved", key });
      }));
    });
    for (const [i, key] of keys.entries()) {
      const final = `${root}/${key}`;
      const renamed = find(ops, `rename to ${final}`, (o) => o.op === "rename" && o.to === final);
      const rename = ops[renamed] as { from: string };
      const fileSynced = find(
        ops,
        "file fsync",
        (o) => o.op === "sync-done" && o.path === rename.from,
      );
      assert.ok(fileSynced < renamed, `c-${i}: file fsynced before the rename`);
      const dirStart = find(ops, "dir fsync", (o) => o.op === "sync" && o.path === dir, renamed);
      const dirDone = find(
        ops,
        "dir fsync done",
        (o) => o.op === "sync-done" && o.path === dir,
        dirStart,
      );
      const resolved = find(ops, "resolved", (o) => o.op === "resolved" && o.key === key);
      assert.ok(
        dirDone < resolved,
        `c-${i}: durable only after a directory fsync begun after its rename`,
      );
    }
    await sink.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
