/**
 * The scoring host: runs every channel scorer in `plugins/` in its own sandboxed worker, routes
 * orders to them in per-channel batches, and falls back when a plugin fails.
 *
 * @module
 */
import type { OrderData } from "../../core/order.ts";
import {
  isScorerFileName,
  joinPath,
  loadManifest,
  type Manifest,
  MANIFEST_FILE,
  ManifestError,
  resolvePluginFile,
} from "./manifest.ts";
import { type BatchOutcome, PluginWorker, ScorerWorkerError } from "./plugin_worker.ts";
import { SLOTS } from "./wire.ts";

/** The score of one order and who produced it. */
export interface ScoreResult {
  readonly score: number;
  /** Name of the scorer that produced `score` (`"builtin"` for {@linkcode BUILTIN_FALLBACK_SCORE}). */
  readonly scorer: string;
  /** True when the channel's own scorer did not produce the score. */
  readonly fallback: boolean;
  /** Why the fallback was used: `no_scorer`, `unavailable` or a {@linkcode FailureReason}. */
  readonly reason?: string;
}

/** Scores orders; what the consumer depends on (so it can be tested without the host). */
export type ScoreFn = (orders: readonly OrderData[]) => Promise<readonly ScoreResult[]>;

/** Why a scorer failed, as counted in {@linkcode ScoringHost.metrics}. */
export type FailureReason = "timeout" | "crash" | "invalid_result" | "threw" | "load_error";

/**
 * Score used when even the fallback scorer fails (or none is loaded): 0.5, "unknown risk".
 * Reported with `scorer: "builtin"` and counted in `metrics().builtin`.
 */
export const BUILTIN_FALLBACK_SCORE = 0.5;

/** State of one scorer file, as shown by `deno task plugins list`. */
export interface ScorerStatus {
  /** Channel served, or undefined when the file never loaded (discovered, spec unknown). */
  readonly channel: string | undefined;
  readonly name: string | undefined;
  /** Absolute path of the plugin file. */
  readonly file: string;
  readonly source: "manifest" | "discovered" | "fallback";
  /**
   * `ready`; `backoff` (crashed/timed out, restarting soon); `failed` (never loaded);
   * `conflict` (another scorer already serves its channel); `disabled` (manifest `enabled: false`).
   */
  readonly state: "ready" | "backoff" | "failed" | "conflict" | "disabled";
  readonly lastError: string | undefined;
  readonly restarts: number;
}

/** Failure counters, by scorer and reason. */
export interface ScoringMetrics {
  readonly failures: readonly {
    readonly scorer: string;
    readonly file: string;
    readonly reason: FailureReason;
    readonly count: number;
  }[];
  /** Orders scored by their channel's scorer. */
  readonly scored: number;
  /** Orders scored by the fallback scorer. */
  readonly fallbacks: number;
  /** Orders scored with {@linkcode BUILTIN_FALLBACK_SCORE}. */
  readonly builtin: number;
  /** Hot reloads swapped in. */
  readonly reloads: number;
}

/** Options for {@linkcode ScoringHost.start}. */
export interface ScoringHostOptions {
  /** Directory holding `manifest.json` and the scorer files. */
  readonly pluginsDir: string;
  /** Watch the directory and hot-reload changed scorers and manifest. Default false. */
  readonly watch?: boolean;
  /** Where log lines go. Default `console.error`. */
  readonly log?: (line: string) => void;
  /** Base deadline per batch. Default 250 ms. */
  readonly batchDeadlineMs?: number;
  /** Extra deadline per order in a batch. Default 0.05 ms. */
  readonly perOrderBudgetMs?: number;
  /** How long a plugin may take to load. Default 5000 ms. */
  readonly loadTimeoutMs?: number;
  /** Debounce for file-system events when watching. Default 100 ms. */
  readonly debounceMs?: number;
  /** Minimum interval between repeated log lines for the same scorer+reason. Default 60 s. */
  readonly logIntervalMs?: number;
}

interface Entry {
  readonly file: string;
  readonly source: "manifest" | "discovered" | "fallback";
  /** From the manifest; undefined for discovered files. */
  readonly channel: string | undefined;
  readonly name: string | undefined;
  readonly enabled: boolean;
  readonly options: Readonly<Record<string, unknown>>;
}

/** A sample order used to smoke-test a freshly loaded scorer before swapping it in. */
function sampleOrder(channel: string): OrderData {
  return Object.freeze({
    orderId: "smoke-test-1",
    customerId: "cust-smoke",
    channel,
    items: Object.freeze([Object.freeze({ sku: "SKU-1", quantity: 2, unitPrice: 60 })]),
    total: 120,
    currency: "USD",
    createdAt: "2026-01-01T00:00:00.000Z",
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A call to {@linkcode ScoringHost.score} waiting for the others of its turn. */
interface QueuedCall {
  readonly orders: readonly OrderData[];
  readonly resolve: (results: readonly ScoreResult[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Most orders sent to one worker as one batch. A larger group is cut into batches of this size
 * that are all in flight at once (see {@linkcode ScoringHost.score}), so the two threads overlap.
 */
const CHUNK_ORDERS = 4096;

/**
 * Calls of the same turn are merged until they hold this many orders (a larger call goes alone).
 * Measured: 2048 instead of 4096 halved the throughput of six 500-order calls at once (they no
 * longer all merged); merging more would serialize calls that can otherwise overlap.
 */
const MERGE_ORDERS = 4096;

/** Plugins loaded at once (each load compiles a module graph; the machine has few cores). */
const LOAD_CONCURRENCY = 2;

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 5000;

/** One loaded scorer file and its worker, restarting it with backoff after a crash/timeout. */
class Slot {
  readonly entry: Entry;
  readonly fingerprint: string;
  readonly spec: PluginWorker["spec"];
  #worker: PluginWorker | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #failuresInRow = 0;
  #restarts = 0;
  #closed = false;
  #restarting: Promise<void> | undefined;
  #loadTimeoutMs: number;
  lastError: string | undefined;

  #onCrash: (message: string) => void;

  constructor(
    entry: Entry,
    fingerprint: string,
    spec: PluginWorker["spec"],
    loadTimeoutMs: number,
    onCrash: (message: string) => void,
  ) {
    this.entry = entry;
    this.fingerprint = fingerprint;
    this.spec = spec;
    this.#loadTimeoutMs = loadTimeoutMs;
    this.#onCrash = onCrash;
  }

  /** Death handler to pass to {@linkcode PluginWorker.load} for this slot's workers. */
  readonly onDeath = (error: ScorerWorkerError, duringBatch: boolean): void => {
    // A death during a batch is counted by the caller of run(); one between batches here.
    if (!duringBatch) this.#onCrash(error.message);
    this.#onWorkerDeath(error);
  };

  /** Installs the first worker (already loaded and smoke-tested). */
  attach(worker: PluginWorker): void {
    this.#worker = worker;
  }

  get ready(): boolean {
    return this.#worker !== undefined && !this.#worker.dead;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /**
   * Runs a batch; several may be in flight (the worker runs them in order and each gets its own
   * deadline, see {@linkcode PluginWorker.run}). Resolves undefined when the worker is not
   * available (restarting).
   */
  async run(
    orders: readonly OrderData[],
    deadlineMs: number,
    indices?: readonly number[],
  ): Promise<BatchOutcome | undefined> {
    const worker = this.#worker;
    if (worker === undefined || worker.dead || this.#closed) return undefined;
    const outcome = await worker.run(orders, deadlineMs, indices);
    this.#failuresInRow = 0;
    return outcome;
  }

  #onWorkerDeath(error: unknown): void {
    this.lastError = describe(error);
    this.#worker = undefined;
    if (this.#closed) return;
    this.#failuresInRow++;
    const delay = Math.min(RESTART_BASE_MS * 2 ** (this.#failuresInRow - 1), RESTART_MAX_MS);
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#restart();
    }, delay);
  }

  #restart(): void {
    if (this.#closed) return;
    this.#restarts++;
    this.#restarting = PluginWorker.load({
      file: this.entry.file,
      options: this.entry.options,
      loadTimeoutMs: this.#loadTimeoutMs,
      onDeath: this.onDeath,
    }).then(
      (worker) => {
        if (this.#closed) worker.terminate();
        else this.#worker = worker;
      },
      (error) => this.#onWorkerDeath(error),
    );
  }

  /** Terminates the worker and waits for a restart in flight (so no worker outlives close). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#worker?.terminate();
    this.#worker = undefined;
    await this.#restarting;
  }
}

interface Failed {
  readonly entry: Entry;
  readonly fingerprint: string;
  readonly error: string;
}

/**
 * Runs channel scorer plugins sandboxed and scores orders with them.
 *
 * - Each scorer runs in a `Worker` with `permissions: "none"`; orders go per channel in batches
 *   with a deadline (`batchDeadlineMs + perOrderBudgetMs × n`).
 * - A hung or crashed worker is terminated and restarted with exponential backoff (100 ms …
 *   5 s); the batch is scored by the fallback scorer. Throws, NaN and results outside [0, 1)
 *   fail just that order, which goes to the fallback. Failures are counted per scorer and reason
 *   and logged once per scorer+reason per `logIntervalMs`, naming the plugin file.
 * - The fallback scorer is sandboxed too; if it fails, {@linkcode BUILTIN_FALLBACK_SCORE} is used.
 * - With `watch: true`, changed/new/removed scorer files and manifest edits are applied live; a
 *   new version is swapped in only after it loads and scores a sample order cleanly.
 *
 * @example
 * ```ts ignore
 * const host = await ScoringHost.start({ pluginsDir: "./plugins", watch: true });
 * const [result] = await host.score([order]);
 * await host.close();
 * ```
 */
export class ScoringHost {
  #dir: string;
  #log: (line: string) => void;
  #options: Required<Omit<ScoringHostOptions, "pluginsDir" | "log" | "watch">>;
  #manifest: Manifest;
  #slots = new Map<string, Slot>(); // by file
  #failed = new Map<string, Failed>(); // by file
  #disabled: Entry[] = [];
  #routes = new Map<string, Slot>(); // by channel
  #conflicts = new Map<string, string>(); // file -> message
  #fallback: Slot | undefined;
  #failures = new Map<
    string,
    { scorer: string; file: string; reason: FailureReason; count: number }
  >();
  #lastLogged = new Map<string, { at: number; suppressed: number }>();
  #scored = 0;
  #fallbacks = 0;
  #builtin = 0;
  #reloads = 0;
  #watcher: Deno.FsWatcher | undefined;
  #watchLoop: Promise<void> | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #reconciling: Promise<void> = Promise.resolve();
  #closed = false;
  /** Calls waiting to be scored together at the end of this turn (see `score`). */
  #queued: QueuedCall[] = [];
  #queuedOrders = 0;

  private constructor(dir: string, manifest: Manifest, options: ScoringHostOptions) {
    this.#dir = dir;
    this.#manifest = manifest;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#options = {
      batchDeadlineMs: options.batchDeadlineMs ?? 250,
      perOrderBudgetMs: options.perOrderBudgetMs ?? 0.05,
      loadTimeoutMs: options.loadTimeoutMs ?? 5000,
      debounceMs: options.debounceMs ?? 100,
      logIntervalMs: options.logIntervalMs ?? 60_000,
    };
  }

  /**
   * Reads the manifest (throws {@linkcode ManifestError} when it is invalid), loads every scorer
   * and the fallback, and starts watching when asked. A scorer that fails to load does not stop
   * the host: its channel falls back and `status()` says why.
   */
  static async start(options: ScoringHostOptions): Promise<ScoringHost> {
    const dir = await Deno.realPath(options.pluginsDir);
    const manifest = await loadManifest(dir);
    const host = new ScoringHost(dir, manifest, options);
    await host.#reconcile(manifest);
    if (options.watch === true) host.#startWatching();
    return host;
  }

  /** The plugins directory (real path). */
  get pluginsDir(): string {
    return this.#dir;
  }

  /** Waits until pending hot reloads are applied (used by tests and the CLI). */
  settled(): Promise<void> {
    return this.#reconciling;
  }

  /**
   * Scores orders, in input order. Never rejects for plugin faults: failed orders are scored by
   * the fallback scorer, then by {@linkcode BUILTIN_FALLBACK_SCORE}.
   *
   * Calls made in the same turn of the event loop (e.g. several partitions scoring at once) are
   * scored together, as one batch per scorer: a round trip to a worker costs the same for 100
   * orders as for 4000, so this is much cheaper than a batch per call per scorer. Each call
   * still gets exactly its own results.
   */
  score(orders: readonly OrderData[]): Promise<readonly ScoreResult[]> {
    if (orders.length >= MERGE_ORDERS) return this.#scoreNow(orders, true);
    return new Promise((resolve, reject) => {
      this.#queued.push({ orders, resolve, reject });
      this.#queuedOrders += orders.length;
      if (this.#queued.length === 1) queueMicrotask(this.#flush);
      else if (this.#queuedOrders >= MERGE_ORDERS) this.#flush();
    });
  }

  /** Scores the calls queued by {@linkcode ScoringHost.score} as one. */
  readonly #flush = (): void => {
    const calls = this.#queued;
    if (calls.length === 0) return;
    this.#queued = [];
    this.#queuedOrders = 0;
    if (calls.length === 1) {
      const call = calls[0]!;
      this.#scoreNow(call.orders, true).then(call.resolve, call.reject);
      return;
    }
    let count = 0;
    for (const call of calls) count += call.orders.length;
    const all: OrderData[] = new Array(count);
    let k = 0;
    for (const call of calls) {
      const orders = call.orders;
      for (let i = 0; i < orders.length; i++) all[k++] = orders[i]!;
    }
    // The merged results are not frozen, only each call's slice: `slice` of a frozen array takes
    // V8's slow path (~40 ns per element against < 1 ns; with six 500-order calls in flight it
    // was about a quarter of the host thread's busy time in a profile).
    this.#scoreNow(all, false).then((results) => {
      let at = 0;
      for (const call of calls) {
        call.resolve(Object.freeze(results.slice(at, at + call.orders.length)));
        at += call.orders.length;
      }
    }, (error) => {
      for (const call of calls) call.reject(error);
    });
  };

  /** Scores `orders`; freezes the results array when `freeze` (the caller's own array) is set. */
  async #scoreNow(orders: readonly OrderData[], freeze: boolean): Promise<readonly ScoreResult[]> {
    const results: (ScoreResult | undefined)[] = new Array(orders.length);
    // One map lookup per order: channel → its group of indices (`noScorer` when unrouted).
    const byChannel = new Map<string, number[]>();
    const groups = new Map<Slot, number[]>();
    const noScorer: number[] = [];
    const routes = this.#routes;
    for (let i = 0; i < orders.length; i++) {
      const channel = orders[i]!.channel;
      let group = byChannel.get(channel);
      if (group === undefined) {
        const slot = routes.get(channel);
        if (slot === undefined) group = noScorer;
        else groups.set(slot, group = []);
        byChannel.set(channel, group);
      }
      group.push(i);
    }
    const fallback = this.#fallback;
    const builtin = (index: number, reason: string) => {
      this.#builtin++;
      results[index] = Object.freeze({
        score: BUILTIN_FALLBACK_SCORE,
        scorer: "builtin",
        fallback: true,
        reason,
      });
    };
    // Orders of channels without a scorer go to the fallback at once, alongside the others.
    const runs: Promise<void>[] = [];
    const failed: { index: number; reason: string }[] = [];
    for (const [slot, indices] of groups) {
      runs.push(
        this.#runSlot(slot, orders, indices, results, false, undefined).then((f) => {
          for (const x of f) failed.push(x);
        }),
      );
    }
    if (noScorer.length > 0) {
      if (fallback === undefined) {
        for (const index of noScorer) builtin(index, "no_scorer");
      } else {
        runs.push(
          this.#runSlot(fallback, orders, noScorer, results, true, undefined).then((f) => {
            for (const { index } of f) builtin(index, "no_scorer");
          }),
        );
      }
    }
    await Promise.all(runs);
    if (failed.length > 0) {
      const reasons = new Map(failed.map((f) => [f.index, f.reason]));
      const again = fallback === undefined ? failed : await this.#runSlot(
        fallback,
        orders,
        failed.map((f) => f.index),
        results,
        true,
        reasons,
      );
      for (const { index } of again) builtin(index, reasons.get(index) ?? "unavailable");
    }
    return freeze ? Object.freeze(results as ScoreResult[]) : results as ScoreResult[];
  }

  /**
   * Runs `indices` of `orders` on a slot; fills results; returns the indices that failed. More
   * than {@linkcode CHUNK_ORDERS} orders go as several batches, all submitted at once: the
   * worker scores one while this thread writes the next and builds the results of the last.
   */
  async #runSlot(
    slot: Slot,
    orders: readonly OrderData[],
    indices: readonly number[],
    results: (ScoreResult | undefined)[],
    isFallback: boolean,
    reasons: ReadonlyMap<number, string> | undefined,
  ): Promise<{ index: number; reason: string }[]> {
    if (indices.length <= CHUNK_ORDERS) {
      return await this.#runChunk(slot, orders, indices, results, isFallback, reasons);
    }
    // At most SLOTS batches, so all of them fit in the worker's slots at once (a batch waiting
    // for a free slot may cost another wake-up of the worker).
    const size = Math.max(CHUNK_ORDERS, Math.ceil(indices.length / SLOTS));
    const runs: Promise<{ index: number; reason: string }[]>[] = [];
    for (let from = 0; from < indices.length; from += size) {
      const chunk = indices.slice(from, from + size);
      runs.push(this.#runChunk(slot, orders, chunk, results, isFallback, reasons));
    }
    return (await Promise.all(runs)).flat();
  }

  /** One batch of {@linkcode ScoringHost.#runSlot}. */
  async #runChunk(
    slot: Slot,
    orders: readonly OrderData[],
    indices: readonly number[],
    results: (ScoreResult | undefined)[],
    isFallback: boolean,
    reasons: ReadonlyMap<number, string> | undefined,
  ): Promise<{ index: number; reason: string }[]> {
    const deadline = this.#options.batchDeadlineMs +
      this.#options.perOrderBudgetMs * indices.length;
    let outcome: BatchOutcome | undefined;
    try {
      outcome = await slot.run(orders, deadline, indices);
    } catch (error) {
      const reason: FailureReason = error instanceof ScorerWorkerError && error.reason === "timeout"
        ? "timeout"
        : "crash";
      this.#countFailure(slot, reason, describe(error), indices.length);
      return indices.map((index) => ({ index, reason }));
    }
    if (outcome === undefined) return indices.map((index) => ({ index, reason: "unavailable" }));
    const failed: { index: number; reason: string }[] = [];
    const perOrder = new Map<number, readonly [number, string, string]>();
    for (const f of outcome.failures) perOrder.set(f[0], f);
    const name = slot.spec.name;
    const scores = outcome.scores;
    let scored = 0;
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      const score = scores[k]!;
      if (score >= 0 && score < 1) {
        results[index] = Object.freeze(
          isFallback
            ? { score, scorer: name, fallback: true, reason: reasons?.get(index) ?? "no_scorer" }
            : { score, scorer: name, fallback: false },
        );
        scored++;
        continue;
      }
      const f = perOrder.get(k);
      const reason: FailureReason = f?.[1] === "threw" ? "threw" : "invalid_result";
      this.#countFailure(slot, reason, f?.[2] ?? `score() returned ${String(score)}`, 1);
      failed.push({ index, reason });
    }
    if (isFallback) this.#fallbacks += scored;
    else this.#scored += scored;
    return failed;
  }

  #countFailure(slot: Slot, reason: FailureReason, message: string, count: number): void {
    this.#countRaw(slot.spec.name, slot.entry.file, reason, message, count);
  }

  #countRaw(scorer: string, file: string, reason: FailureReason, message: string, count: number) {
    const key = `${file}\0${reason}`;
    const counter = this.#failures.get(key) ?? { scorer, file, reason, count: 0 };
    counter.count += count;
    this.#failures.set(key, counter);
    const now = Date.now();
    const logged = this.#lastLogged.get(key);
    if (logged !== undefined && now - logged.at < this.#options.logIntervalMs) {
      logged.suppressed += count;
      return;
    }
    const suppressed = logged === undefined || logged.suppressed === 0
      ? ""
      : ` (${logged.suppressed} more since last report)`;
    this.#lastLogged.set(key, { at: now, suppressed: 0 });
    this.#log(`scorer ${scorer} (${file}) failed: ${reason}: ${message}${suppressed}`);
  }

  /** One row per scorer file: channel, name, file, state, last error. */
  status(): readonly ScorerStatus[] {
    const rows: ScorerStatus[] = [];
    const fallback = this.#fallback;
    for (const slot of this.#slots.values()) {
      const conflict = this.#conflicts.get(slot.entry.file);
      rows.push(Object.freeze({
        channel: slot === fallback ? "*" : slot.spec.channel,
        name: slot.spec.name,
        file: slot.entry.file,
        source: slot === fallback ? "fallback" : slot.entry.source,
        state: conflict !== undefined ? "conflict" : slot.ready ? "ready" : "backoff",
        lastError: conflict ?? this.#failedFor(slot.entry.file) ?? slot.lastError,
        restarts: slot.restarts,
      }));
    }
    for (const failed of this.#failed.values()) {
      if (this.#slots.has(failed.entry.file)) continue;
      rows.push(Object.freeze({
        channel: failed.entry.source === "fallback" ? "*" : failed.entry.channel,
        name: failed.entry.name,
        file: failed.entry.file,
        source: failed.entry.source,
        state: "failed",
        lastError: failed.error,
        restarts: 0,
      }));
    }
    for (const entry of this.#disabled) {
      rows.push(Object.freeze({
        channel: entry.channel,
        name: entry.name,
        file: entry.file,
        source: entry.source,
        state: "disabled",
        lastError: undefined,
        restarts: 0,
      }));
    }
    rows.sort((a, b) =>
      (a.channel ?? "~").localeCompare(b.channel ?? "~") || a.file.localeCompare(b.file)
    );
    return Object.freeze(rows);
  }

  #failedFor(file: string): string | undefined {
    const failed = this.#failed.get(file);
    return failed === undefined ? undefined : `new version rejected, old one kept: ${failed.error}`;
  }

  /** Failure counts by scorer+reason and totals. */
  metrics(): ScoringMetrics {
    return Object.freeze({
      failures: Object.freeze([...this.#failures.values()].map((f) => Object.freeze({ ...f }))),
      scored: this.#scored,
      fallbacks: this.#fallbacks,
      builtin: this.#builtin,
      reloads: this.#reloads,
    });
  }

  /** Stops watching and terminates every worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    await this.#watchLoop;
    await this.#reconciling;
    await Promise.all([...this.#slots.values()].map((slot) => slot.close()));
    this.#slots.clear();
    this.#routes.clear();
    this.#fallback = undefined;
  }

  #startWatching(): void {
    const watcher = Deno.watchFs(this.#dir, { recursive: false });
    this.#watcher = watcher;
    this.#watchLoop = (async () => {
      for await (const event of watcher) {
        if (this.#closed) break;
        if (event.kind === "access") continue;
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => this.#scheduleReload(), this.#options.debounceMs);
      }
    })();
  }

  #scheduleReload(): void {
    this.#reconciling = this.#reconciling.then(async () => {
      if (this.#closed) return;
      let manifest = this.#manifest;
      try {
        manifest = await loadManifest(this.#dir);
      } catch (error) {
        this.#log(
          `plugins: keeping the previous manifest: ${describe(error)}`,
        );
      }
      try {
        await this.#reconcile(manifest);
      } catch (error) {
        this.#log(`plugins: reload failed: ${describe(error)}`);
      }
    });
  }

  /** Brings loaded scorers in line with the manifest and the files on disk. */
  async #reconcile(manifest: Manifest): Promise<void> {
    const previousManifest = this.#manifest;
    this.#manifest = manifest;
    const entries: Entry[] = [];
    const disabled: Entry[] = [];
    const listed = new Set<string>([MANIFEST_FILE]);
    const unresolved: { entry: Entry; error: string }[] = [];
    const resolve = async (module: string): Promise<string | { error: string; file: string }> => {
      try {
        return await resolvePluginFile(this.#dir, module);
      } catch (error) {
        return { error: describe(error), file: joinPath(this.#dir, module) };
      }
    };
    for (const s of manifest.scorers) {
      listed.add(s.module.replace(/^\.\//, ""));
      const file = await resolve(s.module);
      const base = { channel: s.channel, name: s.name, options: s.options, enabled: s.enabled };
      if (typeof file !== "string") {
        unresolved.push({
          entry: { ...base, file: file.file, source: "manifest" },
          error: file.error,
        });
      } else if (!s.enabled) disabled.push({ ...base, file, source: "manifest" });
      else entries.push({ ...base, file, source: "manifest" });
    }
    listed.add(manifest.fallback.module.replace(/^\.\//, ""));
    const fallbackFile = await resolve(manifest.fallback.module);
    const fallbackEntry: Entry = {
      file: typeof fallbackFile === "string" ? fallbackFile : fallbackFile.file,
      source: "fallback",
      channel: undefined,
      name: undefined,
      enabled: true,
      options: manifest.fallback.options,
    };
    if (typeof fallbackFile !== "string") {
      unresolved.push({ entry: fallbackEntry, error: fallbackFile.error });
    } else entries.push(fallbackEntry);
    if (manifest.discovery) {
      const names: string[] = [];
      for await (const item of Deno.readDir(this.#dir)) {
        if (
          (item.isFile || item.isSymlink) && isScorerFileName(item.name) && !listed.has(item.name)
        ) {
          names.push(item.name);
        }
      }
      names.sort();
      for (const name of names) {
        const file = await resolve(`./${name}`);
        const entry: Entry = {
          file: typeof file === "string" ? file : file.file,
          source: "discovered",
          channel: undefined,
          name: undefined,
          enabled: true,
          options: {},
        };
        if (typeof file === "string") entries.push(entry);
        else unresolved.push({ entry, error: file.error });
      }
    }

    // Load what is new or changed; keep what is unchanged.
    const keep = new Map<string, Slot>();
    const failed = new Map<string, Failed>();
    for (const { entry, error } of unresolved) {
      failed.set(entry.file, { entry, fingerprint: "", error });
      if (this.#failed.get(entry.file)?.error !== error) {
        this.#log(`plugins: cannot use ${entry.file}: ${error}`);
      }
    }
    await forEachLimited(entries, LOAD_CONCURRENCY, async (entry) => {
      let source: string;
      try {
        source = await Deno.readTextFile(entry.file);
      } catch (error) {
        failed.set(entry.file, { entry, fingerprint: "", error: describe(error) });
        return;
      }
      const fingerprint = JSON.stringify([entry.source, entry.channel, entry.name, entry.options]) +
        "\0" + source;
      const current = this.#slots.get(entry.file);
      if (current !== undefined && current.fingerprint === fingerprint) {
        keep.set(entry.file, current);
        return;
      }
      const previousFailure = this.#failed.get(entry.file);
      if (previousFailure !== undefined && previousFailure.fingerprint === fingerprint) {
        failed.set(entry.file, previousFailure);
        if (current !== undefined) keep.set(entry.file, current);
        return;
      }
      try {
        const slot = await this.#loadSlot(entry, fingerprint);
        keep.set(entry.file, slot);
        if (current !== undefined) {
          this.#reloads++;
          this.#log(`plugins: reloaded ${slot.spec.name} (${entry.file})`);
        } else if (this.#slots.size > 0 || this.#fallback !== undefined) {
          this.#log(
            `plugins: loaded ${slot.spec.name} for channel ${slot.spec.channel} (${entry.file})`,
          );
        }
      } catch (error) {
        const message = describe(error);
        failed.set(entry.file, { entry, fingerprint, error: message });
        this.#countRaw(
          entry.name ?? entry.file.split("/").pop()!,
          entry.file,
          "load_error",
          message,
          1,
        );
        if (current !== undefined) {
          keep.set(entry.file, current);
          this.#log(`plugins: keeping the running version of ${entry.file}: ${message}`);
        }
      }
    });

    // Swap: close slots that were replaced or removed.
    for (const [file, slot] of this.#slots) {
      if (keep.get(file) !== slot) {
        await slot.close();
        if (!keep.has(file)) this.#log(`plugins: unloaded ${slot.spec.name} (${file})`);
      }
    }
    this.#slots = keep;
    this.#failed = failed;
    this.#disabled = disabled;
    this.#rebuildRoutes(previousManifest);
  }

  async #loadSlot(entry: Entry, fingerprint: string): Promise<Slot> {
    const holder: { slot?: Slot } = {};
    const worker = await PluginWorker.load({
      file: entry.file,
      options: entry.options,
      loadTimeoutMs: this.#options.loadTimeoutMs,
      onDeath: (error, duringBatch) => holder.slot?.onDeath(error, duringBatch),
    });
    const spec = worker.spec;
    const mismatch = entry.channel !== undefined && spec.channel !== entry.channel
      ? `manifest says channel "${entry.channel}" but the spec says "${spec.channel}"`
      : entry.name !== undefined && spec.name !== entry.name
      ? `manifest says name "${entry.name}" but the spec says "${spec.name}"`
      : undefined;
    if (mismatch !== undefined) {
      worker.terminate();
      throw new ScorerWorkerError(
        "load_error",
        entry.file,
        `Cannot load scorer ${entry.file}: ${mismatch}`,
      );
    }
    let outcome: BatchOutcome;
    try {
      outcome = await worker.run([sampleOrder(spec.channel)], this.#options.batchDeadlineMs * 4);
    } catch (error) {
      worker.terminate();
      throw new ScorerWorkerError(
        "load_error",
        entry.file,
        `Cannot load scorer ${entry.file}: smoke test failed: ${describe(error)}`,
        { cause: error },
      );
    }
    const score = outcome.scores[0];
    if (outcome.failures.length > 0 || !(typeof score === "number" && score >= 0 && score < 1)) {
      worker.terminate();
      const detail = outcome.failures[0]?.[2] ?? `score() returned ${String(score)}`;
      throw new ScorerWorkerError(
        "load_error",
        entry.file,
        `Cannot load scorer ${entry.file}: smoke test failed: ${detail}`,
      );
    }
    const created = new Slot(
      entry,
      fingerprint,
      spec,
      this.#options.loadTimeoutMs,
      (message) => this.#countRaw(spec.name, entry.file, "crash", message, 1),
    );
    created.attach(worker);
    holder.slot = created;
    return created;
  }

  #rebuildRoutes(_previous: Manifest): void {
    const routes = new Map<string, Slot>();
    const conflicts = new Map<string, string>();
    let fallback: Slot | undefined;
    const slots = [...this.#slots.values()];
    const order = { manifest: 0, fallback: 1, discovered: 2 } as const;
    slots.sort((a, b) =>
      order[a.entry.source] - order[b.entry.source] || a.entry.file.localeCompare(b.entry.file)
    );
    const disabledChannels = new Set(this.#disabled.map((e) => e.channel));
    for (const slot of slots) {
      if (slot.entry.source === "fallback") {
        fallback = slot;
        continue;
      }
      const channel = slot.spec.channel;
      const holder = routes.get(channel);
      if (holder !== undefined) {
        conflicts.set(
          slot.entry.file,
          `channel "${channel}" is already served by ${holder.spec.name} (${holder.entry.file})`,
        );
      } else if (disabledChannels.has(channel)) {
        conflicts.set(slot.entry.file, `channel "${channel}" is disabled in ${MANIFEST_FILE}`);
      } else routes.set(channel, slot);
    }
    this.#routes = routes;
    this.#conflicts = conflicts;
    this.#fallback = fallback;
  }
}

export { ManifestError };
