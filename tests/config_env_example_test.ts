/**
 * Keeps config/.env.example honest: every variable the settings modules (config/*.ts) read is
 * listed, and the file as shipped loads to the documented defaults.
 */
import assert from "node:assert/strict";
import { loadSettings } from "../config/settings.ts";

const ROOT = new URL("../", import.meta.url);

function parseEnvExample(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    assert.ok(eq > 0, `not KEY=VALUE: ${line}`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

Deno.test("config/.env.example lists every variable loadSettings() reads", () => {
  const example = parseEnvExample(Deno.readTextFileSync(new URL("config/.env.example", ROOT)));
  const sources = [...Deno.readDirSync(new URL("config/", ROOT))]
    .filter((entry) => entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts"))
    .map((entry) => Deno.readTextFileSync(new URL(`config/${entry.name}`, ROOT)));
  const read = new Set(
    sources.flatMap((source) =>
      [...source.matchAll(/get\("([A-Z][A-Z0-9_]+)"\)/g)].map((m) => m[1]!)
    ),
  );
  assert.ok(read.size >= 25, `found only ${read.size} variables in config/*.ts`);
  const listed = new Set(Object.keys(example));
  const commented = Deno.readTextFileSync(new URL("config/.env.example", ROOT));
  for (const name of read) {
    assert.ok(
      listed.has(name) || commented.includes(`# ${name}=`),
      `${name} is missing from config/.env.example`,
    );
  }
});

Deno.test("config/.env.example as shipped loads to the defaults", () => {
  const example = parseEnvExample(Deno.readTextFileSync(new URL("config/.env.example", ROOT)));
  assert.deepEqual(loadSettings(example), loadSettings({}));
});
