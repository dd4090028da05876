/**
 * Local-disk sink: one file per key under a root directory, written atomically.
 *
 * Each write goes to a hidden temp file in the destination directory, is fsync'ed (unless
 * `sync: false`), then renamed over the final name, and the directory is fsync'ed so the rename
 * itself survives a power loss — a crash never leaves a half-written order visible, a write is
 * reported durable only when both its bytes and its name are on disk, and a replay overwrites the
 * same file. Directory fsyncs are shared: concurrent writers in one directory wait for one sync
 * that starts after their renames.
 *
 * A process killed between creating a temp file and renaming it leaves the temp file behind (a
 * crash-looping consumer leaves one per kill). Each sink removes such leftovers once, in the
 * background, from its first probe (the consumer probes its sink at start): see
 * {@linkcode LocalSink.sweepStaleTemps} for which files and directories, and why that is safe next
 * to live writers.
 *
 * @module
 */
import { DirectorySyncer } from "./_directory_syncer.ts";
import { assertSafeKey, type RecordPosition, type Sink, SinkWriteError } from "./types.ts";

/** Options for {@linkcode LocalSink}. */
export interface LocalSinkOptions {
  /** Root directory; keys are paths relative to it. */
  readonly dir: string;
  /**
   * fsync the file, and its directory after the rename (and the parents of a directory this sink
   * created), before reporting durable. Default true.
   */
  readonly sync?: boolean;
  /**
   * A leftover temp file is removed only when it was last written longer ago than this (default
   * {@linkcode STALE_TEMP_AGE_MS}).
   */
  readonly staleTempAgeMs?: number;
  /** Receives the line saying what the stale-temp sweep removed (default: nothing is logged). */
  readonly log?: (line: string) => void;
  /** Clock, epoch ms (default `Date.now`): the sweep's ages and dates. */
  readonly now?: () => number;
}

/**
 * Default {@linkcode LocalSinkOptions.staleTempAgeMs}: one hour. A live write keeps its temp file
 * for the time of one write, fsync and rename — milliseconds, seconds on a stalled disk — so an
 * hour leaves a wide margin for another group member sharing the directory tree.
 */
export const STALE_TEMP_AGE_MS = 60 * 60_000;

/**
 * A `dt=` directory is swept when its date is today or yesterday (UTC), or when it changed within
 * this long (its mtime moves whenever a file is created, renamed or removed in it): two days.
 */
export const SWEEP_RECENT_DIR_MS = 2 * 86_400_000;

/** What {@linkcode LocalSink.sweepStaleTemps} did. */
export interface SweepReport {
  /** Leftover files removed, as paths relative to the root. */
  readonly removed: readonly string[];
  /** Directories listed. */
  readonly dirs: number;
  /** Directories or files it could not read or remove (left for the next sweep). */
  readonly failed: number;
}

/** Names this sink creates only for a moment: write's temp files and probe's files. */
const LEFTOVER = /^\.(?:.+\.[0-9a-f]{12}\.tmp|probe\.[0-9a-f]{12})$/;
const DATE_DIR = /^dt=(\d{4}-\d{2}-\d{2})$/;

function joinPath(root: string, key: string): { dir: string; path: string; base: string } {
  const cut = key.lastIndexOf("/");
  const rel = cut < 0 ? "" : key.slice(0, cut);
  const base = key.slice(cut + 1);
  const rootClean = root.endsWith("/") && root.length > 1 ? root.slice(0, -1) : root;
  const dir = rel === "" ? rootClean : `${rootClean}/${rel}`;
  return { dir, path: `${dir}/${base}`, base };
}

function parentOf(dir: string): string | undefined {
  const cut = dir.lastIndexOf("/");
  return cut <= 0 ? undefined : dir.slice(0, cut);
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Writes objects to files under `dir`.
 *
 * @example
 * ```ts ignore
 * const sink = new LocalSink({ dir: "./data/out" });
 * await sink.write("orders/dt=2026-11-26/orderId=ord-1.json", bytes, { partition: 0, offset: "0" });
 * ```
 */
export class LocalSink implements Sink {
  readonly name = "local";
  readonly #root: string;
  readonly #sync: boolean;
  /** Directories known to exist (mkdir -p cached); a promise so concurrent writers share it. */
  readonly #dirs = new Map<string, Promise<void>>();
  readonly #syncer = new DirectorySyncer();
  readonly #staleAgeMs: number;
  readonly #log: ((line: string) => void) | undefined;
  readonly #now: () => number;
  #sweep: Promise<SweepReport> | undefined;
  #closed = false;

  /** Creates the sink; nothing touches the disk until the first write or probe. */
  constructor(options: LocalSinkOptions) {
    if (options.dir.trim() === "") throw new TypeError("Cannot create local sink: empty dir");
    this.#root = options.dir;
    this.#sync = options.sync ?? true;
    this.#staleAgeMs = options.staleTempAgeMs ?? STALE_TEMP_AGE_MS;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Root directory. */
  get dir(): string {
    return this.#root;
  }

  #ensureDir(dir: string): Promise<void> {
    let made = this.#dirs.get(dir);
    if (made === undefined) {
      made = Deno.mkdir(dir, { recursive: true }).then(() => this.#syncParents(dir));
      this.#dirs.set(dir, made);
      made.catch(() => this.#dirs.delete(dir));
    }
    return made;
  }

  /** Makes the entries of a directory this sink (may have) created durable, up to the root. */
  async #syncParents(dir: string): Promise<void> {
    if (!this.#sync) return;
    const root = this.#root.endsWith("/") && this.#root.length > 1
      ? this.#root.slice(0, -1)
      : this.#root;
    for (let d = parentOf(dir); d !== undefined; d = parentOf(d)) {
      await this.#syncer.sync(d);
      if (d === root || d.length <= root.length) break;
    }
  }

  /** Writes `body` to `<dir>/<key>` via temp file + fsync + rename + directory fsync. */
  async write(key: string, body: Uint8Array, _position?: RecordPosition): Promise<void> {
    assertSafeKey(key);
    const { dir, path, base } = joinPath(this.#root, key);
    const tmp = `${dir}/.${base}.${randomSuffix()}.tmp`; // a name LEFTOVER matches, for the sweep
    try {
      await this.#ensureDir(dir);
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      try {
        let written = 0;
        while (written < body.length) written += await file.write(body.subarray(written));
        if (this.#sync) await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, path);
      if (this.#sync) await this.#syncer.sync(dir);
    } catch (error) {
      await Deno.remove(tmp).catch(() => undefined); // best effort: the temp file may not exist
      if (error instanceof Deno.errors.NotFound) this.#dirs.delete(dir); // dir removed under us
      throw new SinkWriteError(`Cannot write ${path}: ${(error as Error).message}`, {
        key,
        retryable: true,
        cause: error,
      });
    }
  }

  /** Unlinks `<dir>/<key>` (nothing to do when it is not there). */
  async remove(key: string): Promise<void> {
    assertSafeKey(key);
    try {
      await Deno.remove(joinPath(this.#root, key).path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw new SinkWriteError(`Cannot remove ${key}: ${(error as Error).message}`, {
        key,
        retryable: true,
        cause: error,
      });
    }
  }

  /**
   * Checks the root is a writable directory by creating and removing a probe file. The first call
   * also starts {@linkcode sweepStaleTemps} (not awaited: the probe does not wait for it).
   */
  async probe(): Promise<void> {
    void this.sweepStaleTemps();
    await Deno.mkdir(this.#root, { recursive: true });
    const probe = `${this.#root}/.probe.${randomSuffix()}`;
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
    await Deno.remove(probe);
  }

  /** Nothing buffered; stops the stale-temp sweep (waits for its current step), forgets the cache. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dirs.clear();
    await this.#sweep;
  }

  /**
   * Removes leftover temp files (`.<name>.<12 hex>.tmp`) and probe files (`.probe.<12 hex>`) last
   * written more than {@linkcode LocalSinkOptions.staleTempAgeMs} ago, and logs how many. Runs once
   * per sink, started in the background by the first {@linkcode probe} (the consumer probes its
   * sink at start); later calls return the same report. Never throws: what it cannot read or
   * remove is counted in `failed` and left for the next start. {@linkcode close} stops it.
   *
   * Safe next to live writers (other group members may share the tree): a live write's temp file
   * is seconds old at most, far below the age; and were one removed anyway (a write stalled for an
   * hour), its rename fails, the write rejects as retryable and is retried under a new temp name.
   * It only ever removes names matching the patterns above, never a final name, and does not
   * follow symbolic links.
   *
   * Scope, to keep a start cheap on a large tree: listing costs about 2 µs per entry (200 000
   * names: 0.4 s, warm cache), and the per-order layout keeps every order of a day in one `dt=`
   * directory, so listing the whole tree at each start of a crash-looping consumer would cost
   * seconds to minutes. It enters every directory except a `dt=YYYY-MM-DD` one whose date is
   * neither today nor yesterday (UTC) and whose mtime is older than
   * {@linkcode SWEEP_RECENT_DIR_MS}. Live orders land in today's directory (yesterday's just after
   * midnight); a late or replayed order's write moves its directory's mtime, so a temp file it left
   * is found too, by a start within two days. Not reached: a temp file in an old `dt=` directory
   * untouched since (batched layout: its `part=` subdirectories change, not the `dt=` directory)
   * when no consumer started within two days of the crash.
   */
  sweepStaleTemps(): Promise<SweepReport> {
    this.#sweep ??= this.#sweepTree().then((report) => {
      if (report.removed.length > 0 || report.failed > 0) {
        this.#log?.(
          `local sink: removed ${report.removed.length} stale temp file(s) older than ` +
            `${Math.round(this.#staleAgeMs / 60_000)} min under ${this.#root}` +
            (report.failed > 0 ? `; ${report.failed} path(s) could not be read or removed` : ""),
        );
      }
      return report;
    });
    return this.#sweep;
  }

  async #sweepTree(): Promise<SweepReport> {
    const now = this.#now();
    const cutoff = now - this.#staleAgeMs;
    const recentDays = new Set([now, now - 86_400_000].map((ms) => isoDay(ms)));
    const root = this.#root.endsWith("/") && this.#root.length > 1
      ? this.#root.slice(0, -1)
      : this.#root;
    const removed: string[] = [];
    let dirs = 0, failed = 0;
    const visit = async (dir: string, rel: string): Promise<void> => {
      dirs++;
      try {
        for await (const entry of Deno.readDir(dir)) {
          if (this.#closed) return;
          const path = `${dir}/${entry.name}`;
          const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
          if (entry.isDirectory) {
            if (await enter(entry.name, path)) await visit(path, relPath);
          } else if (entry.isFile && LEFTOVER.test(entry.name)) {
            if (await removeIfStale(path)) removed.push(relPath);
          }
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) failed++; // NotFound: removed meanwhile
      }
    };
    const enter = async (name: string, path: string): Promise<boolean> => {
      const day = DATE_DIR.exec(name)?.[1];
      if (day === undefined || recentDays.has(day)) return true;
      try {
        const mtime = (await Deno.lstat(path)).mtime?.getTime();
        return mtime === undefined || mtime >= now - SWEEP_RECENT_DIR_MS; // no mtime: look
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) failed++;
        return false;
      }
    };
    const removeIfStale = async (path: string): Promise<boolean> => {
      try {
        const mtime = (await Deno.lstat(path)).mtime?.getTime();
        if (mtime === undefined || mtime >= cutoff) return false; // no mtime: cannot tell, keep
        await Deno.remove(path);
        return true;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) failed++; // NotFound: renamed meanwhile
        return false;
      }
    };
    await visit(root, "");
    return { removed, dirs, failed };
  }
}

/** `YYYY-MM-DD` (UTC) of an epoch ms. */
function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
