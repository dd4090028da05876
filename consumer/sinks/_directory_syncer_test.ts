import assert from "node:assert/strict";
import { DirectorySyncer, fsyncDirectory } from "./_directory_syncer.ts";

/** An fsync recorder whose syncs finish only when the test releases them. */
function recorder() {
  const started: { dir: string; release: () => void }[] = [];
  const fsync = (dir: string) => {
    const { promise, resolve } = Promise.withResolvers<void>();
    started.push({ dir, release: resolve });
    return promise;
  };
  return { started, fsync };
}

Deno.test("DirectorySyncer.sync() covers each caller with a sync that starts after its call", async () => {
  const { started, fsync } = recorder();
  const syncer = new DirectorySyncer(fsync);
  const done: string[] = [];
  const a = syncer.sync("d").then(() => done.push("a"));
  assert.equal(started.length, 1); // a starts a sync at once
  const b = syncer.sync("d").then(() => done.push("b")); // sync 1 may predate b's rename
  const c = syncer.sync("d").then(() => done.push("c"));
  assert.equal(started.length, 1); // b and c queue one more, not two
  started[0]!.release();
  await a;
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(done, ["a"]); // b and c are not covered by the first sync
  assert.equal(started.length, 2);
  started[1]!.release();
  await Promise.all([b, c]);
  assert.deepEqual(done.sort(), ["a", "b", "c"]);
});

Deno.test("DirectorySyncer.sync() keeps directories apart and reports a failed sync", async () => {
  let calls = 0;
  const syncer = new DirectorySyncer((dir) => {
    calls++;
    return dir === "bad" ? Promise.reject(new Error("EIO")) : Promise.resolve();
  });
  await syncer.sync("good");
  await assert.rejects(syncer.sync("bad"), /EIO/);
  await syncer.sync("bad2");
  assert.equal(calls, 3);
});

Deno.test("fsyncDirectory() syncs a real directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fsyncDirectory(dir);
  } finally {
    await Deno.remove(dir);
  }
});
