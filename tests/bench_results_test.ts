/**
 * Published benchmark figures are generated, never typed: the README's benchmark table is the
 * summary of bench/RESULTS.md (written by one `deno task bench` run), the per-bench files name
 * that same run, the README's benchmark prose carries no figures, and every hand-written notes
 * file names the runs it discusses; the memory bench sums RSS over a process tree. No broker
 * needed.
 */
import { deepEqual, ok } from "node:assert/strict";
import {
  between,
  normalizedLines,
  SUMMARY_BEGIN,
  SUMMARY_END,
  treeRssKb,
} from "../bench/_report.ts";

const ROOT = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));
const readme = await read("README.md");
const results = await read("bench/RESULTS.md");

Deno.test("README's benchmark table is RESULTS.md's summary, cell for cell", () => {
  const inReadme = between(readme, SUMMARY_BEGIN, SUMMARY_END);
  const inResults = between(results, SUMMARY_BEGIN, SUMMARY_END);
  ok(inReadme !== undefined, `README.md has no ${SUMMARY_BEGIN} … ${SUMMARY_END} block`);
  ok(inResults !== undefined, `bench/RESULTS.md has no ${SUMMARY_BEGIN} … ${SUMMARY_END} block`);
  ok(normalizedLines(inResults).length > 2, "RESULTS.md's summary has no rows");
  deepEqual(
    normalizedLines(inReadme),
    normalizedLines(inResults),
    "README.md's benchmark table differs from bench/RESULTS.md: rerun `deno task bench` " +
      "(it rewrites both); never edit either by hand",
  );
});

Deno.test("bench/producer.md and bench/consumer.md come from the run RESULTS.md reports", async () => {
  const stamp = /deno task bench run \d{4}-\d{2}-\d{2}T[\d:.]+Z/.exec(results)?.[0];
  ok(stamp !== undefined, "RESULTS.md names no `deno task bench run <date>`");
  for (const file of ["bench/producer.md", "bench/consumer.md"]) {
    const text = await read(file);
    ok(text.includes(stamp), `${file} is not from ${stamp}: rerun \`deno task bench\``);
  }
});

Deno.test("the README's benchmark prose carries no typed figures", () => {
  const start = readme.indexOf("\n## Benchmarks");
  ok(start >= 0, "README.md has no Benchmarks section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const prose = section.slice(0, section.indexOf(SUMMARY_BEGIN)) +
    section.slice(section.indexOf(SUMMARY_END) + SUMMARY_END.length);
  const figure =
    /\d[\d.,]*\s*(?:ms|s\b|rec\/s|orders\/s|PUT\/s|MiB|GiB|%|×)|\b\d+\.\d+\b|\b\d+k\b/g;
  deepEqual(
    [...prose.matchAll(figure)].map((m) => m[0]),
    [],
    "figures belong in the generated table or a notes file",
  );
});

Deno.test("each hand-written bench notes file names the runs it discusses", async () => {
  for await (const entry of Deno.readDir(new URL("bench/", ROOT))) {
    if (!entry.name.endsWith("_notes.md")) continue;
    const text = await read(`bench/${entry.name}`);
    ok(
      /\b20\d\d-\d\d-\d\d\b|\b\d{1,2} (?:Nov|Dec)\b/.test(text),
      `bench/${entry.name} names no run (date)`,
    );
  }
});

Deno.test("the memory bench's RSS counts the whole process tree", async () => {
  // A parent with two children: all three are counted, and their RSS adds up.
  const parent = new Deno.Command("bash", {
    args: ["-c", "sleep 5 & sleep 5 & wait"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    let tree = { kb: 0, processes: 0 };
    for (let i = 0; i < 50 && tree.processes < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      tree = await treeRssKb(parent.pid);
    }
    ok(tree.processes === 3, `expected bash and two sleeps, counted ${tree.processes}`);
    const alone = await treeRssKb(Deno.pid);
    ok(alone.processes >= 1 && alone.kb > 0, "this test process has an RSS");
  } finally {
    parent.kill("SIGKILL");
    await parent.status;
  }
});
