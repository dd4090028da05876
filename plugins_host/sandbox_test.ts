import assert from "node:assert/strict";
import { sandboxArgs } from "./sandbox.ts";

Deno.test("sandboxArgs() grants reads of the plugins dir, sdk/ and the harness only, nothing else", () => {
  const args = sandboxArgs({
    file: "/srv/plugins/web.ts",
    pluginsDir: "/srv/plugins",
    options: { scale: 5 },
    limits: { memoryMb: 48, deadlineMs: 250 },
  });
  const flags = args.filter((a) => a.startsWith("--"));
  const here = new URL(".", import.meta.url).pathname;
  const sdk = new URL("../sdk/", import.meta.url).pathname;
  assert.deepEqual(
    flags.find((f) => f.startsWith("--allow-read="))?.slice("--allow-read=".length).split(","),
    ["/srv/plugins", sdk, `${here}_harness.ts`, `${here}_limits.ts`],
  );
  assert.deepEqual(flags.filter((f) => f.startsWith("--allow-")).length, 1, "one grant only");
  for (const required of ["--no-config", "--no-lock", "--no-remote", "--no-npm", "--no-prompt"]) {
    assert.ok(flags.includes(required), required);
  }
  for (const kind of ["net", "env", "run", "write", "ffi", "sys", "import"]) {
    assert.ok(flags.includes(`--deny-${kind}`), `--deny-${kind}`);
  }
  assert.ok(flags.includes("--v8-flags=--max-old-space-size=48"));
  assert.deepEqual(args.slice(-3, -1), ["file:///srv/plugins/web.ts", '{"scale":5}']);
});
