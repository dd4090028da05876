/**
 * The README's folder map, enforced: each folder imports only the folders the map allows, so the
 * layout shows the architecture and no folder imports one that imports it back.
 */
import assert from "node:assert/strict";

/** Folder → folders its source files may import (README, "Development"). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  "mod.ts": ["core", "sdk"],
  core: [],
  sdk: ["core"],
  config: [],
  clients: ["config"],
  kafkajs_patches: [],
  plugins_host: ["core", "sdk", "cli"],
  plugins: ["sdk"],
  producer: ["core", "config", "clients", "kafkajs_patches", "plugins_host", "cli", "mod.ts"],
  consumer: ["core", "config", "clients", "kafkajs_patches", "plugins_host", "cli", "mod.ts"],
  dlq: ["core", "config", "clients", "cli"],
  cli: ["config"],
  tools: ["core", "config", "clients", "consumer", "plugins_host", "producer", "cli", "mod.ts"],
};

const ROOT = new URL("../", import.meta.url);
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^"';]*?from\s*"(\.{1,2}\/[^"]+)"/g;

function folderOf(relative: string): string {
  const cut = relative.indexOf("/");
  return cut < 0 ? relative : relative.slice(0, cut);
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sources(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}

Deno.test("source folders import only what the README's folder map allows", async () => {
  const violations: string[] = [];
  for (const folder of Object.keys(ALLOWED)) {
    const files = folder.endsWith(".ts") ? [folder] : await Array.fromAsync(sources(folder));
    for (const file of files) {
      const text = await Deno.readTextFile(new URL(file, ROOT));
      for (const m of text.matchAll(IMPORT)) {
        const target = new URL(m[1]!, new URL(file, ROOT)).href.slice(ROOT.href.length);
        const to = folderOf(target);
        if (to === folder || to === "deno.json" || ALLOWED[folder]!.includes(to)) continue;
        violations.push(`${file} imports ${target}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
