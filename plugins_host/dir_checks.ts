/**
 * What the host checks of the plugins directory before it starts a plugin process: no symlink
 * in it leads outside it, and a scorer file the host reads is of bounded size.
 *
 * @module
 */
import { type Launcher, ScorerLoadError } from "./types.ts";

/**
 * Largest scorer file the host reads (to fingerprint it, see `host.ts`), in bytes. The host reads
 * every scorer file on each load and reload, so a plugin must not choose how much memory that
 * takes; 1 MiB is far above any real scorer (large data belongs in a module it imports, which
 * only the plugin's own process reads, under its own memory limits).
 */
export const MAX_SCORER_FILE_BYTES = 1024 * 1024;
/** Most directory entries the symlink scan visits; past that no plugin starts (fail closed). */
const MAX_SCAN_ENTRIES = 10_000;
/** Deepest directory level the symlink scan visits; a deeper one stops every plugin too. */
const MAX_SCAN_DEPTH = 16;

/**
 * Why no plugin of `dir` (a real path) may start, or undefined when none is in the way. Deno
 * checks read access on the path a module is imported by, not on a symlink's target, so
 * `--allow-read=<dir>` lets a plugin import any file that a symlink in `dir` points to. Any
 * plugin can import any file of the directory, so one symlink whose real path is outside `dir`
 * (or whose target is missing: it could appear outside later) stops them all. Symlinks that stay
 * inside are fine, as for the scorer files themselves (`resolvePluginFile`). Directory symlinks
 * are not followed: what they lead to inside is scanned where it really is.
 */
export async function linkProblem(dir: string): Promise<string | undefined> {
  const root = dir.endsWith("/") ? dir.slice(0, -1) : dir;
  const escaping: string[] = [];
  const pending: [string, number][] = [[root, 0]];
  let visited = 0;
  const stop = (why: string) =>
    `Cannot start plugins: ${why}, so the check for symlinks leading outside ${root} cannot ` +
    `finish; remove unneeded files from it`;
  while (pending.length > 0) {
    const [path, depth] = pending.pop()!;
    for await (const item of Deno.readDir(path)) {
      if (++visited > MAX_SCAN_ENTRIES) return stop(`it has over ${MAX_SCAN_ENTRIES} entries`);
      const full = `${path}/${item.name}`;
      if (item.isSymlink) {
        const real = await Deno.realPath(full).catch(() => undefined);
        if (real === undefined || (real !== root && !real.startsWith(root + "/"))) {
          const target = await Deno.readLink(full).catch(() => "?");
          escaping.push(`${full} -> ${real ?? `${target} (missing)`}`);
        }
      } else if (item.isDirectory) {
        if (depth + 1 >= MAX_SCAN_DEPTH) {
          return stop(`${full} is over ${MAX_SCAN_DEPTH} levels deep`);
        }
        pending.push([full, depth + 1]);
      }
    }
  }
  if (escaping.length === 0) return undefined;
  const shown = escaping.sort().slice(0, 3).join(", ") +
    (escaping.length > 3 ? ` and ${escaping.length - 3} more` : "");
  return `Cannot start plugins: ${shown}: a symlink in the plugins directory leads outside it, ` +
    `and any plugin could import the file it leads to (read access is checked on the link's ` +
    `path, not its target); replace the link with a copy of the file, or remove it`;
}

/**
 * `launch`, but refusing while {@linkcode linkProblem} finds a symlink leading outside the
 * plugins directory. Every start goes through it, restarts after a crash included.
 */
export function refuseEscapingLinks(launch: Launcher): Launcher {
  return async (options) => {
    const problem = await linkProblem(options.pluginsDir);
    if (problem !== undefined) throw new ScorerLoadError(options.file, problem);
    return launch(options);
  };
}

/**
 * SHA-256 (hex) of a scorer file, read in chunks; throws `RangeError` when the file is over
 * {@linkcode MAX_SCORER_FILE_BYTES} (checked by size first, then while reading, since it may grow).
 * Only the digest is kept, never the contents.
 */
export async function scorerFileDigest(file: string): Promise<string> {
  const tooBig = (size: string) =>
    new RangeError(
      `Cannot load scorer ${file}: it is ${size} bytes, over the limit of ` +
        `${MAX_SCORER_FILE_BYTES} bytes (1 MiB) for a scorer file; move large data into a ` +
        `module it imports, or remove the file`,
    );
  using handle = await Deno.open(file);
  const { size } = await handle.stat();
  if (size > MAX_SCORER_FILE_BYTES) throw tooBig(String(size));
  let bytes = new Uint8Array(size + 1);
  let length = 0;
  for (;;) {
    if (length === bytes.length) { // it grew since the stat
      if (length > MAX_SCORER_FILE_BYTES) throw tooBig(`more than ${MAX_SCORER_FILE_BYTES}`);
      const more = new Uint8Array(Math.min(length * 2, MAX_SCORER_FILE_BYTES + 1));
      more.set(bytes);
      bytes = more;
    }
    const read = await handle.read(bytes.subarray(length));
    if (read === null) break;
    length += read;
  }
  const digest = await crypto.subtle.digest("SHA-256", bytes.subarray(0, length));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
