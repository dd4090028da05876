/**
 * Shared directory fsyncs for the local sink (private to `consumer/sinks/`; the (d) bench
 * baseline uses it too, to share fsyncs exactly as the sink does).
 *
 * @module
 */

/** fsync a directory: makes the names created, renamed or removed in it durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * Coalesces directory fsyncs: a caller is covered by the first sync of that directory that starts
 * after it asks, so N concurrent renames in one directory cost one or two fsyncs, not N.
 */
export class DirectorySyncer {
  readonly #fsync: (dir: string) => Promise<void>;
  readonly #state = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();

  /** `fsync` defaults to opening the directory and syncing it (tests inject a recorder). */
  constructor(fsync: (dir: string) => Promise<void> = fsyncDirectory) {
    this.#fsync = fsync;
  }

  /** Resolves once a sync of `dir` that started after this call has completed. */
  sync(dir: string): Promise<void> {
    let state = this.#state.get(dir);
    if (state === undefined) {
      state = {};
      this.#state.set(dir, state);
    }
    const s = state;
    if (s.next !== undefined) return s.next; // a sync that has not started yet covers us
    const start = (): Promise<void> => {
      const run: Promise<void> = this.#fsync(dir).finally(() => {
        if (s.running === run) delete s.running;
        if (s.running === undefined && s.next === undefined) this.#state.delete(dir);
      });
      s.running = run;
      return run;
    };
    if (s.running === undefined) return start();
    // A sync is running, but it may have started before our rename: queue one after it.
    const next: Promise<void> = s.running.catch(() => undefined).then(() => {
      delete s.next;
      return start();
    });
    s.next = next;
    return next;
  }
}
