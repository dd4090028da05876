/**
 * The scoring host: runs every channel scorer of a plugins directory as an untrusted tenant,
 * routes orders to them by channel, and falls back when a plugin fails. Used by the consumer;
 * it imports nothing of `consumer/`, so the producer can use it too.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";
import { catalog, type Entry, ownership } from "./catalog.ts";
import { linkProblem, refuseEscapingLinks, scorerFileDigest } from "./dir_checks.ts";
import { InProcessPlugin } from "./in_process.ts";
import { FailureLog, watchDir } from "./failures.ts";
import { loadManifest, type Manifest, ManifestError } from "./manifest.ts";
import { SandboxedPlugin } from "./sandbox.ts";
import { Slot } from "./slot.ts";
import {
  BUILTIN_FALLBACK_SCORE,
  BUILTIN_SCORER,
  type FailureReason,
  type Launcher,
  PluginFailure,
  type ScoreResult,
  type ScorerStatus,
  type ScoringMetrics,
} from "./types.ts";

/** Options for {@linkcode ScoringHost.start}. */
export interface ScoringHostOptions {
  /** Directory holding `manifest.json` and the scorer files. */
  readonly pluginsDir: string;
  /** Watch the directory and hot-reload changed scorers and manifest. Default false. */
  readonly watch?: boolean;
  /** Where log lines go (the host's and the plugins' own). Default `console.error`. */
  readonly log?: (line: string) => void;
  /** How long a plugin may take to start and load. Default 10 000 ms. */
  readonly loadTimeoutMs?: number;
  /** Debounce for file-system events when watching. Default 100 ms. */
  readonly debounceMs?: number;
  /** Minimum interval between repeated log lines for the same scorer+reason. Default 60 s. */
  readonly logIntervalMs?: number;
  /**
   * `sandbox` (default): each plugin in its own process with its limits. `in-process`: trusted
   * mode, plugins imported into this process with no isolation (benchmarks, tests, vetted code).
   */
  readonly isolation?: "sandbox" | "in-process";
}

type Failed = { index: number; reason: string };

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs channel scorer plugins and scores orders with them.
 *
 * - Each plugin runs in its own Deno process (see `sandbox.ts`) with a heap cap and a deadline
 *   per call from its manifest entry; channels are scored concurrently.
 * - A plugin that dies, hangs, floods or breaks the protocol is killed and restarted with
 *   backoff; its orders get the fallback scorer. A throw or an invalid result fails one order.
 *   Failures are counted per scorer and reason and logged once per `logIntervalMs`.
 * - The fallback scorer is sandboxed too; if it fails, {@linkcode BUILTIN_FALLBACK_SCORE} is used.
 * - With `watch: true`, changed/new/removed files and manifest edits apply live; a new version
 *   replaces the running one only after it loads and scores a sample order cleanly.
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
  #launch: Launcher;
  #isolation: "sandbox" | "in-process";
  #loadTimeoutMs: number;
  #debounceMs: number;
  #manifest: Manifest;
  #slots = new Map<string, Slot>(); // by file
  #failed = new Map<string, { entry: Entry; fingerprint: string; error: string }>();
  #disabled: readonly Entry[] = [];
  #routes = new Map<string, Slot>(); // by channel
  #listed = new Set<string>(); // channels of enabled manifest entries
  #conflicts = new Map<string, string>(); // by file
  #fallback: Slot | undefined;
  #failures: FailureLog;
  #counts = { scored: 0, fallbacks: 0, builtin: 0, reloads: 0 };
  #unwatch: (() => Promise<void>) | undefined;
  #reconciling: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(dir: string, manifest: Manifest, o: ScoringHostOptions) {
    this.#dir = dir;
    this.#manifest = manifest;
    this.#log = o.log ?? ((line) => console.error(line));
    this.#isolation = o.isolation ?? "sandbox";
    this.#launch = this.#isolation === "sandbox"
      ? refuseEscapingLinks(SandboxedPlugin.launch)
      : InProcessPlugin.launch;
    this.#loadTimeoutMs = o.loadTimeoutMs ?? 10_000;
    this.#debounceMs = o.debounceMs ?? 100;
    this.#failures = new FailureLog(this.#log, o.logIntervalMs ?? 60_000);
  }

  /**
   * Reads the manifest (throws {@linkcode ManifestError} when it is invalid), starts every
   * scorer and the fallback, and starts watching when asked. A scorer that fails to load does
   * not stop the host: its channel falls back and `status()` says why.
   */
  static async start(options: ScoringHostOptions): Promise<ScoringHost> {
    const dir = await Deno.realPath(options.pluginsDir);
    const manifest = await loadManifest(dir);
    const host = new ScoringHost(dir, manifest, options);
    await host.#reconcile(manifest);
    if (options.watch === true) {
      host.#unwatch = await watchDir(dir, host.#debounceMs, () => host.#scheduleReload());
    }
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
   * Scores orders, in input order; each channel's plugin is called concurrently. Never rejects
   * for plugin faults: failed orders get the fallback scorer, then
   * {@linkcode BUILTIN_FALLBACK_SCORE}.
   */
  async score(orders: readonly OrderData[]): Promise<readonly ScoreResult[]> {
    const results: ScoreResult[] = new Array(orders.length);
    const groups = new Map<Slot | undefined, number[]>();
    for (let i = 0; i < orders.length; i++) {
      const slot = this.#routes.get(orders[i]!.channel);
      let group = groups.get(slot);
      if (group === undefined) groups.set(slot, group = []);
      group.push(i);
    }
    // Each channel's failures go to the fallback as soon as that channel is done, so a slow
    // channel delays only its own orders within this call.
    const settle = async (failed: readonly Failed[]) => {
      if (failed.length === 0) return;
      const reasons = new Map(failed.map((f) => [f.index, f.reason]));
      const fallback = this.#fallback;
      const again = fallback === undefined
        ? failed
        : await this.#run(fallback, orders, [...reasons.keys()], results, reasons);
      for (const { index } of again) {
        this.#counts.builtin++;
        results[index] = Object.freeze({
          score: BUILTIN_FALLBACK_SCORE,
          scorer: BUILTIN_SCORER,
          fallback: true,
          reason: reasons.get(index) ?? "unavailable",
        });
      }
    };
    await Promise.all([...groups].map(async ([slot, indices]) => {
      if (slot !== undefined) return settle(await this.#run(slot, orders, indices, results));
      await settle(indices.map((index) => ({
        index,
        reason: this.#listed.has(orders[index]!.channel) ? "unavailable" : "no_scorer",
      })));
    }));
    return Object.freeze(results);
  }

  /** Scores `indices` of `orders` with `slot` (the fallback when `reasons` is given). */
  async #run(
    slot: Slot,
    orders: readonly OrderData[],
    indices: readonly number[],
    results: ScoreResult[],
    reasons?: ReadonlyMap<number, string>,
  ): Promise<Failed[]> {
    const instance = slot.instance;
    if (instance === undefined) return indices.map((index) => ({ index, reason: "unavailable" }));
    let reply;
    const started = performance.now();
    try {
      reply = await instance.score(indices.map((i) => orders[i]!));
    } catch (error) {
      const reason = error instanceof PluginFailure ? error.reason : "crash";
      this.#count(slot, reason, describe(error), indices.length);
      return indices.map((index) => ({ index, reason }));
    }
    slot.succeeded();
    slot.busyMs += performance.now() - started;
    const failed: Failed[] = [];
    const name = slot.spec.name;
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      const score = reply.scores[k];
      if (typeof score !== "number") continue; // named in reply.errors (checked by the protocol)
      results[index] = Object.freeze(
        reasons === undefined
          ? { score, scorer: name, fallback: false }
          : { score, scorer: name, fallback: true, reason: reasons.get(index)! },
      );
    }
    for (const [k, reason, message] of reply.errors) {
      failed.push({ index: indices[k]!, reason });
      this.#count(slot, reason, message, 1);
    }
    if (reasons === undefined) this.#counts.scored += indices.length - failed.length;
    else this.#counts.fallbacks += indices.length - failed.length;
    return failed;
  }

  #count(slot: Slot, reason: FailureReason, message: string, count: number): void {
    slot.noteFailure(reason, message);
    this.#failures.count(slot.spec.name, slot.entry.file, reason, message, count);
  }

  /** One row per scorer file: channel, name, file, state, limits, memory, last failure. */
  status(): readonly ScorerStatus[] {
    const rows: ScorerStatus[] = [];
    const row = (entry: Entry, more: Partial<ScorerStatus> & Pick<ScorerStatus, "state">) =>
      rows.push(Object.freeze({
        channel: entry.source === "fallback" ? "*" : entry.channel,
        name: entry.name,
        file: entry.file,
        source: entry.source,
        lastError: undefined,
        lastFailure: undefined,
        restarts: 0,
        busyMs: 0,
        memoryMb: entry.limits.memoryMb,
        deadlineMs: entry.limits.deadlineMs,
        rssBytes: undefined,
        isolation: this.#isolation,
        ...more,
      }));
    for (const slot of this.#slots.values()) {
      const conflict = this.#conflicts.get(slot.entry.file);
      const rejected = this.#failed.get(slot.entry.file);
      row(slot.entry, {
        channel: slot.entry.source === "fallback" ? "*" : slot.spec.channel,
        name: slot.spec.name,
        state: conflict !== undefined ? "conflict" : slot.instance ? "ready" : "backoff",
        lastError: conflict ??
          (rejected ? `new version rejected, old one kept: ${rejected.error}` : slot.lastError),
        lastFailure: slot.lastFailure,
        restarts: slot.restarts,
        rssBytes: slot.instance?.rssBytes(),
        busyMs: Math.round(slot.busyMs),
      });
    }
    for (const failed of this.#failed.values()) {
      if (this.#slots.has(failed.entry.file)) continue;
      row(failed.entry, { state: "failed", lastError: failed.error, lastFailure: "load_error" });
    }
    for (const entry of this.#disabled) row(entry, { state: "disabled" });
    rows.sort((a, b) =>
      (a.channel ?? "~").localeCompare(b.channel ?? "~") || a.file.localeCompare(b.file)
    );
    return Object.freeze(rows);
  }

  /** Failure counts by scorer+reason and totals. */
  metrics(): ScoringMetrics {
    return Object.freeze({
      failures: this.#failures.list(),
      ...this.#counts,
    });
  }

  /** Stops watching and stops every plugin (their processes are gone when this resolves). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#unwatch?.();
    await this.#reconciling;
    await Promise.all([...this.#slots.values()].map((slot) => slot.close()));
    this.#slots.clear();
    this.#routes.clear();
    this.#fallback = undefined;
  }

  #scheduleReload(): void {
    this.#reconciling = this.#reconciling.then(async () => {
      if (this.#closed) return;
      let manifest = this.#manifest;
      try {
        manifest = await loadManifest(this.#dir);
      } catch (error) {
        this.#log(`plugins: keeping the previous manifest: ${describe(error)}`);
      }
      await this.#reconcile(manifest).catch((error) =>
        this.#log(`plugins: reload failed: ${describe(error)}`)
      );
    });
  }

  /** Brings running plugins in line with the manifest and the files on disk. */
  async #reconcile(manifest: Manifest): Promise<void> {
    this.#manifest = manifest;
    const { run, disabled, unusable } = await catalog(this.#dir, manifest);
    const links = this.#isolation === "sandbox" ? await linkProblem(this.#dir) : undefined;
    const keep = new Map<string, Slot>();
    const failed = new Map<string, { entry: Entry; fingerprint: string; error: string }>();
    for (const { entry, error } of unusable) {
      failed.set(entry.file, { entry, fingerprint: "", error });
      if (this.#failed.get(entry.file)?.error !== error) {
        this.#log(`plugins: cannot use ${entry.file}: ${error}`);
      }
    }
    // All at once: each plugin starts in its own process, so one slow or hanging load (up to
    // loadTimeoutMs) does not hold up the others.
    await Promise.all(run.map(async (entry) => {
      let digest: string;
      try {
        digest = await scorerFileDigest(entry.file);
      } catch (error) {
        const message = describe(error);
        failed.set(entry.file, { entry, fingerprint: "", error: message });
        if (this.#failed.get(entry.file)?.error !== message) this.#log(`plugins: ${message}`);
        return;
      }
      const { file, channel, name, options, limits } = entry;
      // With the link problem in it, a removed link starts the refused plugins again.
      const fingerprint = JSON.stringify([entry.source, channel, name, options, limits, links]) +
        digest;
      const current = this.#slots.get(file);
      const rejected = this.#failed.get(file);
      if (current?.fingerprint === fingerprint) {
        keep.set(file, current);
        return;
      }
      if (rejected?.fingerprint === fingerprint) {
        failed.set(file, rejected);
        if (current !== undefined) keep.set(file, current);
        return;
      }
      try {
        const slot = await this.#startSlot(entry, fingerprint);
        keep.set(file, slot);
        if (current !== undefined) {
          this.#counts.reloads++;
          this.#log(`plugins: reloaded ${slot.spec.name} (${file})`);
        } else if (this.#slots.size > 0) {
          this.#log(`plugins: loaded ${slot.spec.name} for channel ${slot.spec.channel} (${file})`);
        }
      } catch (error) {
        const message = describe(error);
        failed.set(file, { entry, fingerprint, error: message });
        this.#failures.count(name ?? file.split("/").pop()!, file, "load_error", message, 1);
        if (current !== undefined) {
          keep.set(file, current);
          this.#log(`plugins: keeping the running version of ${file}: ${message}`);
        }
      }
    }));
    // Swap first, then stop what was replaced or removed: calls never see a stopped plugin.
    const previous = this.#slots;
    this.#slots = keep;
    this.#failed = failed;
    this.#disabled = disabled;
    const slots = [...keep.values()];
    const claims = slots.map((slot) => ({
      entry: slot.entry,
      channel: slot.spec.channel,
      name: slot.spec.name,
      slot,
    }));
    const { owners, conflicts } = ownership(claims, manifest.scorers);
    this.#routes = new Map([...owners].map(([channel, claim]) => [channel, claim.slot]));
    this.#conflicts = conflicts;
    this.#listed = new Set(manifest.scorers.filter((s) => s.enabled).map((s) => s.channel));
    this.#fallback = slots.find((slot) => slot.entry.source === "fallback");
    for (const [file, slot] of previous) {
      if (keep.get(file) === slot) continue;
      await slot.close();
      if (!keep.has(file)) this.#log(`plugins: unloaded ${slot.spec.name} (${file})`);
    }
  }

  #startSlot(entry: Entry, fingerprint: string): Promise<Slot> {
    return Slot.start(entry, fingerprint, this.#launch, {
      file: entry.file,
      pluginsDir: this.#dir,
      options: entry.options,
      limits: entry.limits,
      label: entry.name ?? entry.file.split("/").pop()!.replace(/\.(ts|js)$/, ""),
      loadTimeoutMs: this.#loadTimeoutMs,
      log: this.#log,
    }, (s, f) => this.#failures.count(s.spec.name, s.entry.file, f.reason, f.message, 1));
  }
}

export { ManifestError };
