/**
 * The README cannot drift from the code: the headline commands, every `deno task` it mentions,
 * every setting it mentions, and the settings table against `config/.env.example`.
 */
import { deepEqual, equal, ok } from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", ROOT));
const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
  tasks: Record<string, string>;
};
const envExample = await Deno.readTextFile(new URL("config/.env.example", ROOT));

/** Variables set (uncommented `NAME=value`) in config/.env.example, with their values. */
const exampleVars = new Map(
  [...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]),
);

/** Rows of the markdown table whose header line is exactly `header`: cells without pipes. */
function tableRows(header: string): string[][] {
  const lines = readme.split("\n");
  const start = lines.findIndex((l) => l.replace(/\s+/g, " ").trim() === header);
  ok(start >= 0, `README.md has no table with the header ${header}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
}

/** `NAME` from a cell written as `` `NAME` ``. */
function codeName(cell: string | undefined): string {
  const m = /^`([^`]+)`$/.exec(cell ?? "");
  ok(m !== null, `expected a single code span, got ${cell}`);
  return m[1]!;
}

Deno.test("README.md starts with the two headline commands, exactly", () => {
  const blocks = [...readme.matchAll(/^```(?:sh|bash)?\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]!.trim()
  );
  equal(blocks[0], "npx -y deno@2.9.6 task demo");
  equal(blocks[1], "npx -y deno@2.9.6 task test");
  const firstSection = readme.indexOf("\n## ");
  ok(readme.indexOf("npx -y deno@2.9.6 task demo") > firstSection, "commands follow the pitch");
  ok(readme.indexOf("## Two commands") === firstSection + 1, "the first section is the commands");
});

Deno.test("README.md mentions only deno tasks that exist in deno.json", () => {
  const mentioned = new Set(
    [...readme.matchAll(/\bdeno(?:@[\d.]+)? task ([a-z][a-z0-9_-]*(?::[a-z0-9_-]+)*)/g)].map((m) =>
      m[1]!
    ),
  );
  ok(mentioned.size >= 10, `found only ${[...mentioned]}`);
  for (const task of mentioned) {
    ok(task in denoJson.tasks, `README.md mentions "deno task ${task}", which deno.json lacks`);
  }
});

Deno.test("README.md's task table lists every task in deno.json", () => {
  const listed = tableRows("| task | what it does |").map((r) =>
    codeName(r[0]).replace(/^deno task /, "")
  );
  deepEqual([...listed].sort(), Object.keys(denoJson.tasks).sort());
});

Deno.test("README.md's settings table lists exactly the variables of config/.env.example", () => {
  const rows = tableRows("| variable | default | meaning |");
  const names = rows.map((r) => codeName(r[0]));
  deepEqual([...names].sort(), [...exampleVars.keys()].sort());
});

Deno.test("README.md's settings table shows the defaults of config/.env.example", () => {
  for (const row of tableRows("| variable | default | meaning |")) {
    const name = codeName(row[0]);
    const value = exampleVars.get(name);
    if (value !== undefined && value !== "") {
      ok(
        row[1]?.includes(`\`${value}\``),
        `${name}: README default ${row[1]}, .env.example ${value}`,
      );
    }
  }
});

Deno.test("README.md mentions only settings in config/.env.example or script variables the scripts read", async () => {
  const scripts = [
    await Deno.readTextFile(new URL("dev/kafka.sh", ROOT)),
    await Deno.readTextFile(new URL("dev/s3.sh", ROOT)),
    await Deno.readTextFile(new URL(".ci/run", ROOT)),
  ].join("\n");
  const scriptVars = new Set(
    tableRows("| script variable | default | meaning |").map((r) => codeName(r[0])),
  );
  for (const name of scriptVars) {
    ok(scripts.includes(name), `script variable ${name} is not read by dev/*.sh or .ci/run`);
  }
  const pattern =
    /\b(?:(?:KAFKA|COS|SINK|HTTP|EVENT_STREAMS|ORDERS|DLQ|CONSUMER|PLUGINS|LOG|S3|CI)_[A-Z0-9_]+|SINK)\b/g;
  const mentioned = new Set([...readme.matchAll(pattern)].map((m) => m[0]));
  ok(mentioned.size >= 20);
  for (const name of mentioned) {
    ok(
      exampleVars.has(name) || scriptVars.has(name),
      `README.md mentions ${name}, which is neither in config/.env.example nor a script variable`,
    );
  }
});
