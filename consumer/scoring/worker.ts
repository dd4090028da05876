/**
 * The scorer worker harness: runs one plugin inside a Deno worker with no permissions.
 *
 * The host starts each worker from a tiny `data:` module that statically imports the plugin
 * file and this harness, then calls {@linkcode serveScorer}:
 *
 * ```ts ignore
 * import * as plugin from "file:///…/plugins/web.ts";
 * import { serveScorer } from "file:///…/consumer/scoring/worker.ts";
 * serveScorer(plugin, self);
 * ```
 *
 * Static imports of a worker's main module are loaded with the host's read permission, so the
 * worker itself needs none (a dynamic `import()` inside a `permissions: "none"` worker fails with
 * "Requires read access"). Messages:
 *
 * - host → worker `{ type: "load", url, options, ctl, slots }` → `{ type: "loaded", spec }` or
 *   `{ type: "load_error", message }`. `ctl` and `slots` are shared memory (see `wire.ts`).
 * - Batches go through shared memory, not messages: the host writes batch number `seq` into
 *   slot `seq & (SLOTS - 1)` and stores `seq` in `ctl[submitted]`; the worker scores it and
 *   stores `seq` in `ctl[completed]` (with `Atomics.notify`; both sides wait with
 *   `Atomics.waitAsync`, so neither blocks its event loop). A clean batch leaves its scores in
 *   the slot (status `scored`). Otherwise (status `message`) the worker replies
 *   `{ type: "scored", id: seq, scores, failures }`, where `scores` is a transferred
 *   `Float64Array` (NaN where the order failed) and `failures` lists `[index, reason, message]`
 *   with reason `"threw"` or `"invalid_result"`; or `{ type: "resend", id: seq, fields }` when
 *   the batch lacked fields the scorer read (see `wire.ts`): the host submits the same orders
 *   again with those fields added. A batch with only some fields that has any failure asks for
 *   every field, so failures are always reported from complete orders.
 *
 * @module
 */
import {
  resolveOptions,
  type Scorer,
  type ScorerModule,
  type ScorerSpec,
  validateScorerSpec,
} from "./contract.ts";
import {
  ALL_FIELDS,
  CTL,
  readBatch,
  SLOT_STATUS,
  slotOf,
  slotScores,
  slotStatus,
  unpackOrders,
} from "./wire.ts";

/** Failure reasons a worker can report for one order. */
export type OrderFailureReason = "threw" | "invalid_result";

/** Host → worker: load the plugin with these options (from the manifest). */
export interface LoadMessage {
  readonly type: "load";
  readonly url: string;
  readonly options: Readonly<Record<string, unknown>>;
  /** Control words (see `CTL` in `wire.ts`). */
  readonly ctl: SharedArrayBuffer;
  /** The `SLOTS` slot buffers batches are written into. */
  readonly slots: readonly SharedArrayBuffer[];
}

/** Worker → host replies. */
export type WorkerReply =
  | { readonly type: "loaded"; readonly spec: ScorerSpec }
  | { readonly type: "load_error"; readonly message: string }
  | {
    readonly type: "scored";
    readonly id: number;
    readonly scores: Float64Array;
    readonly failures: readonly (readonly [number, OrderFailureReason, string])[];
  }
  | { readonly type: "resend"; readonly id: number; readonly fields: number };

/** The part of a worker's global scope the harness uses. */
export interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `non-Error thrown: ${String(error)}`;
}

/**
 * Checks that a plugin module's default export has the {@linkcode ScorerModule} shape and a
 * valid spec. Returns the module or a list of problems.
 *
 * @example
 * ```ts
 * import { checkPluginModule } from "./worker.ts";
 * import assert from "node:assert/strict";
 *
 * const result = checkPluginModule({ notDefault: 1 });
 * assert.ok(!result.ok);
 * assert.match(result.problems[0] ?? "", /no default export/);
 * ```
 */
export function checkPluginModule(
  namespace: unknown,
): { ok: true; module: ScorerModule } | { ok: false; problems: readonly string[] } {
  const exported = (namespace as { default?: unknown } | null)?.default;
  if (exported === undefined) {
    return {
      ok: false,
      problems: ["module has no default export (export default defineScorer(...))"],
    };
  }
  if (typeof exported !== "object" || exported === null) {
    return {
      ok: false,
      problems: ["default export must be the object returned by defineScorer()"],
    };
  }
  const candidate = exported as { spec?: unknown; create?: unknown };
  const problems = [...validateScorerSpec(candidate.spec)];
  if (typeof candidate.create !== "function") problems.push("create must be a function");
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, module: candidate as ScorerModule };
}

/**
 * Serves one plugin module over the worker message protocol described in this module's doc.
 * Every order is scored independently: a throw or an invalid result fails that order only.
 */
export function serveScorer(namespace: unknown, scope: WorkerScope): void {
  let scorer: Scorer | undefined;
  scope.onmessage = (event: MessageEvent) => {
    const message = event.data as LoadMessage;
    if (message.type === "load") {
      const checked = checkPluginModule(namespace);
      if (!checked.ok) {
        scope.postMessage({ type: "load_error", message: checked.problems.join("; ") });
        return;
      }
      try {
        if (scorer !== undefined) throw new TypeError("the scorer is already loaded");
        const options = resolveOptions(checked.module.spec, message.options);
        const created: unknown = checked.module.create(options);
        if (typeof (created as Scorer | null)?.score !== "function") {
          scope.postMessage({
            type: "load_error",
            message: "create() must return an object with a score(order) function",
          });
          return;
        }
        scorer = created as Scorer;
        scope.postMessage({ type: "loaded", spec: structuredClone(checked.module.spec) });
        serveSlots(scorer, new Int32Array(message.ctl), message.slots, scope);
      } catch (error) {
        scope.postMessage({ type: "load_error", message: `create() failed: ${describe(error)}` });
      }
      return;
    }
  };
}

/** The worker yields to its event loop (timers, async plugin code) at least this often. */
const YIELD_EVERY_MS = 10;

/**
 * Scores the batches the host submits through the shared slots, in order, until terminated:
 * waits (without blocking the event loop) for `ctl[submitted]` to move, scores each new batch,
 * and stores its number in `ctl[completed]`.
 */
function serveSlots(
  scorer: Scorer,
  ctl: Int32Array,
  slots: readonly SharedArrayBuffer[],
  scope: WorkerScope,
): void {
  let next = (Atomics.load(ctl, CTL.completed) + 1) | 0;
  const wake = (): void => {
    Atomics.store(ctl, CTL.workerWaiting, 0);
    pump();
  };
  const pump = (): void => {
    const started = performance.now();
    for (;;) {
      const submitted = Atomics.load(ctl, CTL.submitted);
      if (((submitted - next) | 0) >= 0) {
        scoreSlot(scorer, next, slotOf(slots, next), scope);
        Atomics.store(ctl, CTL.completed, next);
        if (Atomics.compareExchange(ctl, CTL.hostWaiting, 1, 0) === 1) {
          Atomics.notify(ctl, CTL.completed);
        }
        next = (next + 1) | 0;
        if (performance.now() - started >= YIELD_EVERY_MS) {
          setTimeout(pump, 0);
          return;
        }
        continue;
      }
      Atomics.store(ctl, CTL.workerWaiting, 1);
      const wait = Atomics.waitAsync(ctl, CTL.submitted, submitted);
      if (wait.async) {
        wait.value.then(wake);
        return;
      }
      Atomics.store(ctl, CTL.workerWaiting, 0);
    }
  };
  pump();
}

/** Scores batch `seq` in `slot`; the reply goes into the slot, or as a message when not clean. */
function scoreSlot(scorer: Scorer, seq: number, slot: SharedArrayBuffer, scope: WorkerScope) {
  const batch = readBatch(slot);
  const { orders, missing, end } = unpackOrders(batch);
  const scores = slotScores(slot);
  const failures: [number, OrderFailureReason, string][] = [];
  for (let i = 0; i < orders.length; i++) {
    try {
      const value: unknown = scorer.score(orders[i]!);
      if (typeof value === "number" && value >= 0 && value < 1) {
        scores[i] = value;
      } else {
        scores[i] = NaN;
        failures.push([i, "invalid_result", `score() returned ${String(value)}`]);
      }
    } catch (error) {
      scores[i] = NaN;
      failures.push([i, "threw", describe(error)]);
    }
  }
  end();
  const sent = batch.fields;
  // Missing fields first (the failures may be due to them); then, if orders still fail with
  // some fields left out, all of them, so failures are judged on complete orders.
  const need = missing() !== 0
    ? missing()
    : failures.length > 0 && sent !== ALL_FIELDS
    ? ALL_FIELDS
    : 0;
  if ((need & ~sent) !== 0) {
    slotStatus(slot, SLOT_STATUS.message);
    scope.postMessage({ type: "resend", id: seq, fields: need & ~sent });
  } else if (failures.length > 0) {
    slotStatus(slot, SLOT_STATUS.message);
    const copy = scores.slice();
    scope.postMessage({ type: "scored", id: seq, scores: copy, failures }, [copy.buffer]);
  } else {
    slotStatus(slot, SLOT_STATUS.scored);
  }
}
