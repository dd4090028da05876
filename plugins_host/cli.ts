/**
 * `deno task plugins [list|validate|record|new <channel>]`: inspect, check and scaffold channel
 * scorer plugins.
 *
 * @module
 */
import { EXIT, parseFlags, runTask, UsageError } from "../cli/usage.ts";
import { delay } from "../core/async.ts";
import { ScoringHost } from "./host.ts";
import { CHANNEL_PATTERN } from "../sdk/contract.ts";
import { loadManifest, MANIFEST_FILE } from "./manifest.ts";
import type { ScorerStatus } from "./types.ts";

const IMPORT_MAP = new URL("../sdk/import_map.json", import.meta.url).pathname;

const HELP = `Usage: deno task plugins [command] [--dir <plugins dir>]

Commands:
  list              (default) table of scorers: channel, name, file, state, memory cap,
                    deadline, resident memory, last failure and error
  validate          load every scorer in its sandbox, smoke-score it, and type-check it
                    with \`deno check\`; exits 1 on any failure
  record            add discovered (unlisted) scorers to manifest.json
  new <channel>     scaffold plugins/<channel>.ts and plugins/<channel>_test.ts

Options:
  --dir <path>      plugins directory (default: $PLUGINS_DIR or ./plugins)
  -h, --help        show this help`;

/** A runtime failure (exit 1): the message and what to do about it. */
function fail(message: string, remedy: string): never {
  console.error(`plugins: ${message}\n  ${remedy}`);
  Deno.exit(EXIT.failure);
}

function table(rows: readonly ScorerStatus[], dir: string): string {
  const head = ["CHANNEL", "NAME", "FILE", "STATE", "MEMORY", "DEADLINE", "RSS", "LAST FAILURE"];
  const body = rows.map((r) => [
    r.channel ?? "?",
    r.name ?? "?",
    r.file.startsWith(dir + "/") ? r.file.slice(dir.length + 1) : r.file,
    r.source === "discovered" && r.state === "ready" ? "ready (discovered)" : r.state,
    r.isolation === "sandbox" ? `${r.memoryMb} MiB` : "none",
    `${r.deadlineMs} ms`,
    r.rssBytes === undefined ? "-" : `${Math.round(r.rssBytes / 1048576)} MiB`,
    [r.lastFailure, r.lastError?.replace(/\s+/g, " ").slice(0, 120)].filter(Boolean).join(": "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cols) =>
    cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()
  ).join("\n");
}

/**
 * The host's status once every ready sandbox has reported its resident memory: a sandbox
 * reports it periodically, so a table printed right after start-up would show "-". Waits at
 * most a second; a row still without a figure after that prints "-".
 */
export async function settledStatus(
  host: Pick<ScoringHost, "status">,
): Promise<readonly ScorerStatus[]> {
  const deadline = Date.now() + 1000;
  for (;;) {
    const rows = host.status();
    const pending = rows.some((r) =>
      r.isolation === "sandbox" && r.state === "ready" && r.rssBytes === undefined
    );
    if (!pending || Date.now() >= deadline) return rows;
    await delay(50);
  }
}

async function withHost<T>(dir: string, fn: (host: ScoringHost) => Promise<T>): Promise<T> {
  const host = await ScoringHost.start({ pluginsDir: dir, log: () => {} }).catch((error) =>
    fail(
      (error as Error).message,
      `Fix ${dir}/${MANIFEST_FILE} (see the problems above), then run the command again.`,
    )
  );
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}

async function validate(dir: string): Promise<number> {
  let failures = 0;
  await withHost(dir, async (host) => {
    const rows = await settledStatus(host);
    console.log(table(rows, host.pluginsDir));
    for (const row of rows) {
      if (row.state === "failed" || row.lastError !== undefined) failures++;
    }
    for (const row of host.status()) {
      if (row.state === "disabled") continue;
      const { code, stderr } = await new Deno.Command("deno", {
        args: ["check", "--quiet", "--no-config", `--import-map=${IMPORT_MAP}`, row.file],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (code !== 0) {
        failures++;
        console.log(`\ntype check failed: ${row.file}\n${new TextDecoder().decode(stderr).trim()}`);
      }
    }
  });
  console.log(failures === 0 ? "\nall scorers valid" : `\n${failures} problem(s)`);
  return failures === 0 ? EXIT.ok : EXIT.failure;
}

async function record(dir: string): Promise<void> {
  await withHost(dir, async (host) => {
    const file = `${host.pluginsDir}/${MANIFEST_FILE}`;
    const json = JSON.parse(await Deno.readTextFile(file)) as { scorers: unknown[] };
    const found = host.status().filter((r) => r.source === "discovered" && r.state === "ready");
    for (const r of found) {
      json.scorers.push({
        name: r.name,
        channel: r.channel,
        module: "./" + r.file.slice(host.pluginsDir.length + 1),
        enabled: true,
        options: {},
      });
    }
    await loadManifest(host.pluginsDir); // still valid before we write
    await Deno.writeTextFile(file, JSON.stringify(json, null, 2) + "\n");
    await loadManifest(host.pluginsDir).catch((error) =>
      fail((error as Error).message, `Restore ${file} from git.`)
    );
    console.log(
      found.length === 0
        ? "nothing to record: every loadable scorer is already in the manifest"
        : `recorded ${found.map((r) => r.name).join(", ")} in ${file}`,
    );
  });
}

function scorerTemplate(channel: string): string {
  return `/**
 * ${channel} channel scorer. Replace the body of score() with your rule; keep results in [0, 1).
 *
 * @module
 */
import { defineScorer } from "@orderflow/scorer";

export default defineScorer({
  spec: {
    name: "${channel}",
    channel: "${channel}",
    apiVersion: 1,
    description: "Fixed baseline risk for ${channel} orders, plus a bump for large totals.",
    options: {
      baseline: { type: "number", default: 0.2, min: 0, max: 0.99, description: "Base score." },
      largeTotal: { type: "number", default: 5000, min: 0, description: "Total counted large." },
    },
  },
  create({ baseline, largeTotal }) {
    return {
      score: (order) => (order.total >= largeTotal ? Math.min(baseline + 0.5, 0.99) : baseline),
    };
  },
});
`;
}

function testTemplate(channel: string): string {
  return `import assert from "node:assert/strict";
import { resolveOptions } from "@orderflow/scorer";
import scorer from "./${channel}.ts";

const order = {
  orderId: "o1",
  customerId: "c1",
  channel: "${channel}",
  items: [],
  total: 100,
  currency: "USD",
  createdAt: "2026-11-26T20:00:00.000Z",
};

Deno.test("${channel} scorer scores small orders at the baseline and large ones higher", () => {
  const s = scorer.create(resolveOptions(scorer.spec, {}));
  assert.equal(s.score(order), 0.2);
  assert.equal(s.score({ ...order, total: 9000 }), 0.7);
});
`;
}

async function scaffold(dir: string, channel: string | undefined): Promise<void> {
  if (channel === undefined || !CHANNEL_PATTERN.test(channel)) {
    throw new UsageError(
      `Cannot scaffold a scorer: channel ${JSON.stringify(channel ?? "")} is not valid`,
      { remedy: `Use a name matching ${CHANNEL_PATTERN}, e.g. deno task plugins new pos` },
    );
  }
  const files = [[`${dir}/${channel}.ts`, scorerTemplate(channel)], [
    `${dir}/${channel}_test.ts`,
    testTemplate(channel),
  ]] as const;
  for (const [file, text] of files) {
    try {
      await Deno.writeTextFile(file, text, { createNew: true });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) {
        fail(
          `Cannot scaffold ${file}: it already exists`,
          "Pick another channel or edit the file.",
        );
      }
      throw error;
    }
    console.log(`created ${file}`);
  }
  console.log(
    `next: deno test -P ${dir}/${channel}_test.ts && deno task plugins validate && deno task plugins record`,
  );
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { string: ["dir"], positionals: true });
  if (values.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  const dir = values.dir ?? Deno.env.get("PLUGINS_DIR") ?? "./plugins";
  const [command = "list", arg, extra] = positionals;
  if (extra !== undefined || (arg !== undefined && command !== "new")) {
    throw new UsageError(`Cannot run ${command}: unexpected argument "${extra ?? arg}"`);
  }
  switch (command) {
    case "list":
      await withHost(dir, async (host) => {
        console.log(table(await settledStatus(host), host.pluginsDir));
      });
      return EXIT.ok;
    case "validate":
      return await validate(dir);
    case "record":
      await record(dir);
      return EXIT.ok;
    case "new":
      await scaffold(dir, arg);
      return EXIT.ok;
    default:
      throw new UsageError(
        `Unknown command ${JSON.stringify(command)} (list, validate, record, new)`,
      );
  }
}

if (import.meta.main) Deno.exit(await runTask("plugins", () => main(Deno.args)));
