/** Manifest validation: every problem named, paths confined to the plugins directory. */
import assert from "node:assert/strict";
import {
  loadManifest,
  ManifestError,
  parseManifest,
  resolvePluginFile,
} from "../plugins_host/manifest.ts";
import { ScoringHost } from "../plugins_host/host.ts";
import { REAL_PLUGINS_DIR } from "../plugins_host/_testing.ts";

const fallback = { module: "./default.ts", options: {} };
const web = { name: "web", channel: "web", module: "./web.ts", enabled: true, options: {} };

function problems(value: unknown): readonly string[] {
  try {
    parseManifest(value);
  } catch (error) {
    assert.ok(error instanceof ManifestError);
    return error.problems;
  }
  assert.fail("expected a ManifestError");
}

Deno.test("parseManifest() lists every problem with the entry index and name", () => {
  const found = problems({
    version: 1,
    colour: "red",
    scorers: [
      web,
      { ...web, name: "web2" },
      { ...web, name: "up", channel: "up", module: "../core/order.ts" },
      { ...web, name: "abs", channel: "abs", module: "/etc/passwd.ts" },
      { ...web, name: "json", channel: "json", module: "./data.json" },
      { ...web, name: "typo", channel: "typo", modul: "./x.ts" },
    ],
    fallback,
  });
  assert.deepEqual(found, [
    `"colour" is not a known field`,
    `scorers[1] "web2": channel "web" is already served by scorers[0] "web"`,
    `scorers[2] "up": module must stay inside plugins/ (no ".."), got "../core/order.ts"`,
    `scorers[3] "abs": module must be a relative path like "./web.ts", got "/etc/passwd.ts"`,
    `scorers[4] "json": module must be a .ts or .js file, got "./data.json"`,
    `scorers[5] "typo": "modul" is not a known field`,
  ]);
});

Deno.test("parseManifest() rejects a missing fallback and a wrong version", () => {
  assert.deepEqual(problems({ version: 2, scorers: [] }), [
    `"version" must be 1, got 2`,
    `"fallback" must be an object like { "module": "./default.ts", "options": {} }`,
  ]);
});

Deno.test("loadManifest() accepts the shipped plugins/manifest.json", async () => {
  const manifest = await loadManifest(REAL_PLUGINS_DIR);
  assert.deepEqual(manifest.scorers.map((s) => s.channel), ["web", "partner", "mobile"]);
  assert.equal(manifest.fallback.module, "./default.ts");
});

Deno.test("resolvePluginFile() rejects a symlink that escapes the plugins directory", async () => {
  const root = await Deno.makeTempDir({ prefix: "orderflow-manifest-" });
  try {
    await Deno.mkdir(`${root}/plugins`);
    await Deno.writeTextFile(`${root}/outside.ts`, "export default 1;\n");
    await Deno.writeTextFile(`${root}/plugins/inside.ts`, "export default 1;\n");
    await Deno.symlink(`${root}/outside.ts`, `${root}/plugins/sneaky.ts`);
    await Deno.symlink(`${root}/plugins/inside.ts`, `${root}/plugins/alias.ts`);
    await assert.rejects(resolvePluginFile(`${root}/plugins`, "./sneaky.ts"), RangeError);
    assert.match(
      await resolvePluginFile(`${root}/plugins`, "./alias.ts"),
      /\/plugins\/inside\.ts$/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ScoringHost.start() refuses an invalid manifest with every problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orderflow-manifest-" });
  try {
    await Deno.writeTextFile(
      `${dir}/manifest.json`,
      JSON.stringify({ version: 1, scorers: [web, { ...web, name: "web2" }], fallback }),
    );
    await assert.rejects(
      ScoringHost.start({ pluginsDir: dir, log: () => {} }),
      (error: unknown) =>
        error instanceof ManifestError && error.problems.length === 1 &&
        error.message.includes(`channel "web" is already served`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
