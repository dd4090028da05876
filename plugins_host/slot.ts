/**
 * One plugin file with its running instance: restarts it with backoff when it dies.
 *
 * @module
 */
import type { ScorerSpec } from "../sdk/contract.ts";
import type { Entry } from "./catalog.ts";
import type {
  FailureReason,
  Launcher,
  LaunchOptions,
  PluginFailure,
  PluginInstance,
} from "./instance.ts";

/** First restart delay; doubles per failure in a row up to {@linkcode RESTART_MAX_MS}. */
export const RESTART_BASE_MS = 100;
/** Longest restart delay. */
export const RESTART_MAX_MS = 5000;

/** A plugin file the host runs. */
export class Slot {
  readonly entry: Entry;
  readonly fingerprint: string;
  readonly spec: ScorerSpec;
  lastFailure: FailureReason | undefined;
  lastError: string | undefined;
  /** Time spent in calls to this plugin, ms (slowness shows here even when within deadline). */
  busyMs = 0;
  #instance: PluginInstance | undefined;
  #launch: Launcher;
  #options: LaunchOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inRow = 0;
  #restarts = 0;
  #closed = false;
  #restarting: Promise<void> | undefined;

  /**
   * Starts `entry` with `launch`; resolves once it loaded. `onIdleDeath` counts a death
   * between calls (a death during a call is counted by the caller of `score`).
   */
  static async start(
    entry: Entry,
    fingerprint: string,
    launch: Launcher,
    options: Omit<LaunchOptions, "onDeath">,
    onIdleDeath: (slot: Slot, failure: PluginFailure) => void,
  ): Promise<Slot> {
    const holder: { slot?: Slot } = {};
    const full: LaunchOptions = {
      ...options,
      onDeath: (failure, idle) => {
        if (holder.slot !== undefined) holder.slot.#onDeath(failure, idle, onIdleDeath);
      },
    };
    const instance = await launch(full);
    const slot = new Slot(entry, fingerprint, instance, launch, full);
    holder.slot = slot;
    return slot;
  }

  private constructor(
    entry: Entry,
    fingerprint: string,
    instance: PluginInstance,
    launch: Launcher,
    options: LaunchOptions,
  ) {
    this.entry = entry;
    this.fingerprint = fingerprint;
    this.spec = instance.spec;
    this.#instance = instance;
    this.#launch = launch;
    this.#options = options;
  }

  /** The running instance, or undefined while it restarts. */
  get instance(): PluginInstance | undefined {
    const instance = this.#instance;
    return instance?.alive && !this.#closed ? instance : undefined;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** A call succeeded: the next failure starts the backoff from the beginning again. */
  succeeded(): void {
    this.#inRow = 0;
  }

  /** Records a failure for `status()`. */
  noteFailure(reason: FailureReason, message: string): void {
    this.lastFailure = reason;
    this.lastError = message;
  }

  #onDeath(
    failure: PluginFailure,
    idle: boolean,
    onIdleDeath: (slot: Slot, failure: PluginFailure) => void,
  ): void {
    this.noteFailure(failure.reason, failure.message);
    if (idle) onIdleDeath(this, failure);
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    this.#instance = undefined;
    if (this.#closed) return;
    this.#inRow++;
    const delay = Math.min(RESTART_BASE_MS * 2 ** (this.#inRow - 1), RESTART_MAX_MS);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#restarts++;
      this.#restarting = this.#launch(this.#options).then(
        async (instance) => {
          if (this.#closed) await instance.close();
          else this.#instance = instance;
        },
        (error) => {
          this.noteFailure("load_error", (error as Error).message);
          this.#scheduleRestart();
        },
      );
    }, delay);
  }

  /** Stops the instance and any restart in flight; nothing of this slot runs afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#instance?.close();
    this.#instance = undefined;
    await this.#restarting;
  }
}
