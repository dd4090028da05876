/**
 * One sandboxed worker running one scorer plugin file: load it, score batches with a deadline,
 * terminate it. The host owns restarts and fallbacks; this class only reports what happened.
 *
 * @module
 */
import type { OrderData } from "../../core/order.ts";
import type { ScorerSpec } from "./contract.ts";
import {
  ALL_FIELDS,
  createSlot,
  CTL,
  SLOT_STATUS,
  slotOf,
  SLOTS,
  slotScores,
  slotStatus,
  writeBatch,
} from "./wire.ts";
import type { OrderFailureReason, WorkerReply } from "./worker.ts";

/** Why a whole batch (or a load) failed. */
export type WorkerFailureReason = "timeout" | "crash" | "load_error";

/** Thrown when a plugin cannot be loaded or a batch did not come back. */
export class ScorerWorkerError extends Error {
  /** `timeout`, `crash` or `load_error`. */
  readonly reason: WorkerFailureReason;
  /** The plugin file (absolute path). */
  readonly plugin: string;
  /**
   * @param reason Why it failed.
   * @param plugin The plugin file.
   * @param message What happened.
   * @param options Standard error options (`cause`).
   */
  constructor(
    reason: WorkerFailureReason,
    plugin: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ScorerWorkerError";
    this.reason = reason;
    this.plugin = plugin;
  }
}

/** Scores for one batch: NaN where `failures` names the order. */
export interface BatchOutcome {
  readonly scores: Float64Array;
  readonly failures: readonly (readonly [number, OrderFailureReason, string])[];
}

/** Options for {@linkcode PluginWorker.load}. */
export interface PluginWorkerOptions {
  /** Absolute path of the plugin file (already checked to be inside the plugins dir). */
  readonly file: string;
  /** Options from the manifest (validated against the spec inside the worker). */
  readonly options: Readonly<Record<string, unknown>>;
  /** How long loading may take. Default 5000 ms. */
  readonly loadTimeoutMs?: number;
  /**
   * Called once when a loaded worker dies on its own (crash or batch timeout), not when
   * {@linkcode PluginWorker.terminate} is called. `duringBatch` says whether a batch was pending
   * (that batch's promise rejects too).
   */
  readonly onDeath?: (error: ScorerWorkerError, duringBatch: boolean) => void;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const HARNESS_URL = new URL("./worker.ts", import.meta.url).href;

function fileUrl(path: string): string {
  return new URL("file://" + path.split("/").map(encodeURIComponent).join("/")).href;
}

/**
 * The worker's main module: a `data:` URL whose static imports (the plugin file and the
 * harness) are loaded with the host's read permission, so the worker runs with
 * `permissions: "none"`.
 */
function bootstrapUrl(file: string): string {
  const source = `import * as plugin from ${JSON.stringify(fileUrl(file))};\n` +
    `import { serveScorer } from ${JSON.stringify(HARNESS_URL)};\n` +
    `serveScorer(plugin, self);\n`;
  return "data:text/javascript;base64," + btoa(source);
}

interface Pending {
  readonly orders: readonly OrderData[];
  /** When set, the batch is `orders[indices[0]]`, `orders[indices[1]]`, … */
  readonly indices: readonly number[] | undefined;
  /** Fields of the last submission of this batch. */
  sent: number;
  readonly resolve: (outcome: BatchOutcome) => void;
  readonly reject: (error: ScorerWorkerError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A loaded plugin in its own worker with no permissions. */
export class PluginWorker {
  #worker: Worker;
  #file: string;
  #spec: ScorerSpec;
  #pending = new Map<number, Pending>();
  #ctl: Int32Array;
  #slots: readonly SharedArrayBuffer[];
  /** Last batch number submitted / seen completed (int32, wrapping). */
  #submitted = 0;
  #completed = 0;
  /** Batches waiting for a free slot (more than `SLOTS` in flight). */
  #backlog: Pending[] = [];
  /** Whether an `Atomics.waitAsync` on `ctl[completed]` is outstanding. */
  #watching = false;
  /** Fields this plugin has read so far (see `wire.ts`); only these are sent. */
  #fields = 0;
  /** When the last batch sent is due (`performance.now()` clock). */
  #lastDue = 0;
  #dead: ScorerWorkerError | undefined;
  #onDeath: PluginWorkerOptions["onDeath"];

  private constructor(
    worker: Worker,
    file: string,
    spec: ScorerSpec,
    shared: { ctl: SharedArrayBuffer; slots: readonly SharedArrayBuffer[] },
    onDeath: PluginWorkerOptions["onDeath"],
  ) {
    this.#worker = worker;
    this.#ctl = new Int32Array(shared.ctl);
    this.#slots = shared.slots;
    this.#onDeath = onDeath;
    this.#file = file;
    this.#spec = spec;
    worker.onmessage = (event: MessageEvent<WorkerReply>) => this.#onReply(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#die(new ScorerWorkerError("crash", file, `worker crashed: ${event.message}`));
    };
    worker.onmessageerror = () => {
      this.#die(new ScorerWorkerError("crash", file, "worker sent a message that cannot be read"));
    };
  }

  /** Starts a worker for `file`, loads the plugin and creates the scorer. */
  static load(options: PluginWorkerOptions): Promise<PluginWorker> {
    const { file } = options;
    const ctl = new SharedArrayBuffer(CTL.size * 4);
    const slots = Array.from({ length: SLOTS }, createSlot);
    const worker = new Worker(bootstrapUrl(file), {
      type: "module",
      name: `scorer ${file}`,
      deno: { permissions: "none" },
    } as WorkerOptions);
    return new Promise<PluginWorker>((resolve, reject) => {
      const fail = (message: string, cause?: unknown) => {
        clearTimeout(timer);
        worker.terminate();
        reject(
          new ScorerWorkerError(
            "load_error",
            file,
            `Cannot load scorer ${file}: ${message}`,
            cause === undefined ? undefined : { cause },
          ),
        );
      };
      const timer = setTimeout(
        () => fail(`it did not load within ${options.loadTimeoutMs ?? 5000} ms`),
        options.loadTimeoutMs ?? 5000,
      );
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        fail(event.message);
      };
      worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data;
        if (reply.type === "loaded") {
          clearTimeout(timer);
          resolve(new PluginWorker(worker, file, reply.spec, { ctl, slots }, options.onDeath));
        } else if (reply.type === "load_error") {
          fail(reply.message);
        } else fail(`unexpected reply ${JSON.stringify(reply.type)}`);
      };
      worker.postMessage({
        type: "load",
        url: fileUrl(file),
        options: options.options,
        ctl,
        slots,
      });
    });
  }

  /** The plugin's spec as the worker reported it. */
  get spec(): ScorerSpec {
    return this.#spec;
  }

  /** The plugin file. */
  get file(): string {
    return this.#file;
  }

  /** Whether the worker was terminated or crashed. */
  get dead(): boolean {
    return this.#dead !== undefined;
  }

  /** Fields sent with each batch, a bit set of `FIELD` in `wire.ts` (grows as the plugin reads). */
  get fields(): number {
    return this.#fields;
  }

  /**
   * Scores a batch. Rejects with {@linkcode ScorerWorkerError} `timeout` (the worker is then
   * terminated) or `crash`. Per-order throws and invalid results come back in `failures`.
   *
   * Several batches may be in flight; the worker runs them in order, so each batch's deadline
   * starts when the previous batch's deadline ends (or now, if later): a batch is never cut off
   * for time spent on the batches ahead of it.
   *
   * With `indices`, the batch is `orders[indices[0]]`, `orders[indices[1]]`, … and the scores
   * come back in that order.
   */
  run(
    orders: readonly OrderData[],
    deadlineMs: number,
    indices?: readonly number[],
  ): Promise<BatchOutcome> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const count = indices === undefined ? orders.length : indices.length;
    const now = performance.now();
    const due = Math.max(now, this.#lastDue) + deadlineMs;
    this.#lastDue = due;
    return new Promise<BatchOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#die(
          new ScorerWorkerError(
            "timeout",
            this.#file,
            `batch of ${count} did not finish within ${Math.round(deadlineMs)} ms`,
          ),
        );
      }, due - now);
      this.#submit({ orders, indices, sent: this.#fields, resolve, reject, timer });
    });
  }

  /** Writes a batch into the next slot and tells the worker, or queues it when none is free. */
  #submit(pending: Pending): void {
    if (((this.#submitted - this.#completed) | 0) >= SLOTS) {
      this.#backlog.push(pending);
      return;
    }
    const seq = (this.#submitted + 1) | 0;
    pending.sent = this.#fields;
    try {
      writeBatch(slotOf(this.#slots, seq), pending.orders, pending.sent, pending.indices);
    } catch (error) {
      clearTimeout(pending.timer);
      pending.reject(
        new ScorerWorkerError("crash", this.#file, describe(error), { cause: error }),
      );
      return;
    }
    this.#submitted = seq;
    this.#pending.set(seq, pending);
    Atomics.store(this.#ctl, CTL.submitted, seq);
    // Wake the worker at once if it sleeps, and only once per sleep: clearing its flag here means
    // the next batches of this turn do not notify again while it is still waking up (a notify
    // costs this thread 20 µs to 0.5 ms on a busy machine).
    if (Atomics.compareExchange(this.#ctl, CTL.workerWaiting, 1, 0) === 1) {
      Atomics.notify(this.#ctl, CTL.submitted);
    }
    this.#watch();
  }

  /** Waits (without blocking) for the worker to complete more batches, then collects them. */
  #watch(): void {
    if (this.#watching || this.#dead !== undefined) return;
    this.#watching = true;
    Atomics.store(this.#ctl, CTL.hostWaiting, 1);
    const wait = Atomics.waitAsync(this.#ctl, CTL.completed, this.#completed);
    if (wait.async) wait.value.then(() => this.#collect());
    else queueMicrotask(() => this.#collect());
  }

  #collect(): void {
    this.#watching = false;
    Atomics.store(this.#ctl, CTL.hostWaiting, 0);
    if (this.#dead !== undefined) return;
    const completed = Atomics.load(this.#ctl, CTL.completed);
    while (this.#completed !== completed) {
      const seq = (this.#completed + 1) | 0;
      this.#completed = seq;
      const slot = slotOf(this.#slots, seq);
      if (slotStatus(slot) !== SLOT_STATUS.scored) continue; // the reply comes as a message
      const pending = this.#pending.get(seq);
      if (pending === undefined) continue;
      this.#pending.delete(seq);
      clearTimeout(pending.timer);
      pending.resolve({ scores: slotScores(slot).slice(), failures: [] });
    }
    while (this.#backlog.length > 0 && ((this.#submitted - this.#completed) | 0) < SLOTS) {
      this.#submit(this.#backlog.shift()!);
    }
    if (((this.#submitted - this.#completed) | 0) > 0) this.#watch();
  }

  /** Stops the worker; pending batches reject with `crash`. */
  terminate(): void {
    this.#onDeath = undefined;
    this.#die(new ScorerWorkerError("crash", this.#file, "worker was terminated"));
  }

  #onReply(reply: WorkerReply): void {
    if (reply.type !== "scored" && reply.type !== "resend") return;
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    if (reply.type === "resend") {
      const fields = reply.fields & ALL_FIELDS;
      if (fields === 0 || (fields & pending.sent) !== 0) {
        this.#die(
          new ScorerWorkerError("crash", this.#file, "worker asked again for fields it was sent"),
        );
        return;
      }
      this.#fields |= fields;
      this.#pending.delete(reply.id);
      this.#submit(pending);
      return;
    }
    this.#pending.delete(reply.id);
    clearTimeout(pending.timer);
    pending.resolve({ scores: reply.scores, failures: reply.failures });
  }

  #die(error: ScorerWorkerError): void {
    if (this.#dead !== undefined) return;
    this.#dead = error;
    this.#worker.terminate();
    const onDeath = this.#onDeath;
    this.#onDeath = undefined;
    onDeath?.(error, this.#pending.size > 0 || this.#backlog.length > 0);
    for (const pending of [...this.#pending.values(), ...this.#backlog]) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
    this.#backlog = [];
    Atomics.notify(this.#ctl, CTL.completed); // ends an outstanding waitAsync
  }
}
