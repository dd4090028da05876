/**
 * One sandboxed worker running one scorer plugin file: load it, score batches with a deadline,
 * terminate it. The host owns restarts and fallbacks; this class only reports what happened.
 *
 * @module
 */
import type { OrderData } from "../../core/order.ts";
import type { ScorerSpec } from "./contract.ts";
import { batchTransfer, packOrders } from "./wire.ts";
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
  #nextId = 1;
  #dead: ScorerWorkerError | undefined;
  #onDeath: PluginWorkerOptions["onDeath"];

  private constructor(
    worker: Worker,
    file: string,
    spec: ScorerSpec,
    onDeath: PluginWorkerOptions["onDeath"],
  ) {
    this.#worker = worker;
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
          resolve(new PluginWorker(worker, file, reply.spec, options.onDeath));
        } else if (reply.type === "load_error") {
          fail(reply.message);
        } else fail(`unexpected reply ${JSON.stringify(reply.type)}`);
      };
      worker.postMessage({ type: "load", url: fileUrl(file), options: options.options });
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

  /**
   * Scores a batch. Rejects with {@linkcode ScorerWorkerError} `timeout` (the worker is then
   * terminated) or `crash`. Per-order throws and invalid results come back in `failures`.
   */
  run(orders: readonly OrderData[], deadlineMs: number): Promise<BatchOutcome> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    const batch = packOrders(orders);
    return new Promise<BatchOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#die(
          new ScorerWorkerError(
            "timeout",
            this.#file,
            `batch of ${orders.length} did not finish within ${Math.round(deadlineMs)} ms`,
          ),
        );
      }, deadlineMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#worker.postMessage({ type: "score", id, batch }, batchTransfer(batch));
    });
  }

  /** Stops the worker; pending batches reject with `crash`. */
  terminate(): void {
    this.#onDeath = undefined;
    this.#die(new ScorerWorkerError("crash", this.#file, "worker was terminated"));
  }

  #onReply(reply: WorkerReply): void {
    if (reply.type !== "scored") return;
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
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
    onDeath?.(error, this.#pending.size > 0);
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
  }
}
