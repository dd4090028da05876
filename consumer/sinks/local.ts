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
}

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

  /** Creates the sink; nothing touches the disk until the first write or probe. */
  constructor(options: LocalSinkOptions) {
    if (options.dir.trim() === "") throw new TypeError("Cannot create local sink: empty dir");
    this.#root = options.dir;
    this.#sync = options.sync ?? true;
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
    const tmp = `${dir}/.${base}.${randomSuffix()}.tmp`;
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

  /** Checks the root is a writable directory by creating and removing a probe file. */
  async probe(): Promise<void> {
    await Deno.mkdir(this.#root, { recursive: true });
    const probe = `${this.#root}/.probe.${randomSuffix()}`;
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
    await Deno.remove(probe);
  }

  /** Nothing buffered; forgets the directory cache. */
  close(): Promise<void> {
    this.#dirs.clear();
    return Promise.resolve();
  }
}
