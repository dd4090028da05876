/**
 * The plugin rows of `deno task check`: the scorer plugins start in their sandboxes, through the
 * same host the consumer uses. The consumer refuses to start when the manifest cannot be loaded;
 * a scorer that does not start leaves its channel to the fallback scorer.
 *
 * @module
 */
import { ScoringHost } from "../plugins_host/host.ts";
import { MANIFEST_FILE } from "../plugins_host/manifest.ts";
import type { ScorerStatus } from "../plugins_host/types.ts";
import { type CheckResult, type CheckStatus, elapsed } from "./check_run.ts";

/**
 * Starts every scorer of `dir` in its sandbox (`timeoutMs` each to load), adds a row for the
 * manifest and one per scorer, and stops them again.
 */
export async function checkPlugins(
  dir: string,
  timeoutMs: number,
  push: (row: CheckResult) => void,
): Promise<void> {
  const started = performance.now();
  let host: ScoringHost;
  try {
    host = await ScoringHost.start({ pluginsDir: dir, log: () => {}, loadTimeoutMs: timeoutMs });
  } catch (error) {
    push({
      check: "plugins.manifest",
      target: dir,
      status: "FAIL",
      detail: `Cannot load the scoring plugins: ${(error as Error).message}`,
      remedy: `the consumer refuses to start without them: fix ${MANIFEST_FILE} ` +
        "(deno task plugins validate) or point PLUGINS_DIR at the plugins directory",
      durationMs: elapsed(started),
    });
    return;
  }
  try {
    const rows = host.status();
    const durationMs = elapsed(started);
    push({
      check: "plugins.manifest",
      target: host.pluginsDir,
      status: "OK",
      detail: `${MANIFEST_FILE} valid: ${rows.length} scorer file(s) including the fallback`,
      durationMs,
    });
    for (const row of rows) push(scorerRow(row, host.pluginsDir, durationMs));
  } finally {
    await host.close();
  }
}

const STATUS: Readonly<Record<ScorerStatus["state"], CheckStatus>> = {
  ready: "OK",
  backoff: "FAIL",
  failed: "FAIL",
  conflict: "WARN",
  disabled: "SKIP",
};

function scorerRow(row: ScorerStatus, dir: string, durationMs: number): CheckResult {
  const file = row.file.startsWith(`${dir}/`) ? row.file.slice(dir.length + 1) : row.file;
  const status = STATUS[row.state];
  const where = row.isolation === "sandbox"
    ? `in its sandbox (${row.memoryMb} MiB heap cap, ${row.deadlineMs} ms deadline)`
    : "in process (trusted mode, no sandbox)";
  return {
    check: "plugins.scorer",
    target: `${row.channel ?? "?"} (${file})`,
    status,
    detail: status === "OK"
      ? `${row.name ?? "?"} started ${where}`
      : `${row.state}${row.lastError === undefined ? "" : `: ${row.lastError}`}`,
    ...(status === "OK" || status === "SKIP" ? {} : {
      remedy: row.state === "conflict"
        ? "another scorer serves this channel: remove one file, or list the one to use in the manifest"
        : "the consumer scores this channel with the fallback until it starts: fix it " +
          "(deno task plugins validate)",
    }),
    durationMs,
  };
}
