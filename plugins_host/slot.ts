/**
 * One plugin file with its running instance: restarts it with backoff when it dies.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";
import type { ScorerSpec } from "../sdk/contract.ts";
import type { Entry } from "./catalog.ts";
import {
  type FailureReason,
  type Launcher,
  type LaunchOptions,
  type PluginFailure,
  type PluginInstance,
  ScorerLoadError,
} from "./types.ts";

/** A sample order used to smoke-test a freshly loaded scorer before it serves. */
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
   * Starts `entry` with `launch`; resolves once it loaded, matches its manifest entry and
   * scored a sample order. `onIdleDeath` counts a death between calls (a death during a call is
   * counted by the caller of `score`).
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
    const spec = instance.spec;
    const problem = entry.channel !== undefined && spec.channel !== entry.channel
      ? `manifest says channel "${entry.channel}" but the spec says "${spec.channel}"`
      : entry.name !== undefined && spec.name !== entry.name
      ? `manifest says name "${entry.name}" but the spec says "${spec.name}"`
      // The smoke test is the first call (code not yet compiled): it gets the load timeout.
      : await instance.score([sampleOrder(spec.channel)], options.loadTimeoutMs).then(
        (reply) => reply.errors[0] && `smoke test failed: ${reply.errors[0][2]}`,
        (error) => `smoke test failed: ${(error as Error).message}`,
      );
    if (problem === undefined) return slot;
    await slot.close();
    throw new ScorerLoadError(entry.file, `Cannot load scorer ${entry.file}: ${problem}`);
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
          // A warm-up call with the load timeout, as at the first start (uncompiled code).
          const warm = await instance.score(
            [sampleOrder(this.spec.channel)],
            this.#options.loadTimeoutMs,
          ).then(() => true, () => false);
          if (this.#closed || !warm) await instance.close();
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
