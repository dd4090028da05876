/**
 * Helpers for the tools tests: run `deno task demo` as a user would and find what it stored.
 *
 * @module
 */

/** What one `deno task demo` run printed, and where it stored the orders. */
export interface DemoRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The sink directory (`./data/demo-...`) from the report, or undefined when not printed. */
  readonly dir: string | undefined;
  /** The demo's topic name (`demo-...`), or undefined when not printed. */
  readonly topic: string | undefined;
}

const ROOT = new URL("../", import.meta.url);

/** Runs `deno task demo <args>` from the repository root (as a newcomer would). */
export async function runDemo(args: readonly string[]): Promise<DemoRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const dir = /^Files: \d+ orders under (\.\/data\/demo-[0-9a-f-]+)\/orders/m.exec(stdout)?.[1];
  const topic = /demo: topics (demo-[0-9a-f-]+) \+/.exec(stderr)?.[1];
  return { code: out.code, stdout, stderr, dir, topic };
}

/** Removes a demo's output directory (relative to the repository root). */
export async function removeDemoDir(dir: string | undefined): Promise<void> {
  if (dir === undefined || !/^\.\/data\/demo-[0-9a-f-]+$/.test(dir)) return;
  await Deno.remove(new URL(dir, ROOT), { recursive: true });
}

/** Absolute path of a repository-relative path. */
export function repoPath(relative: string): string {
  return new URL(relative, ROOT).pathname;
}
