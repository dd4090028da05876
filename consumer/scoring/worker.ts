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
 * - host → worker `{ type: "load", url, options }` → `{ type: "loaded", spec }` or
 *   `{ type: "load_error", message }`
 * - host → worker `{ type: "score", id, batch }` → `{ type: "scored", id, scores, failures }`,
 *   where `scores` is a transferred `Float64Array` (NaN where the order failed) and `failures`
 *   lists `[index, reason, message]` with reason `"threw"` or `"invalid_result"`.
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
import { type OrderBatch, unpackOrders } from "./wire.ts";

/** Failure reasons a worker can report for one order. */
export type OrderFailureReason = "threw" | "invalid_result";

/** Host → worker: load the plugin with these options (from the manifest). */
export interface LoadMessage {
  readonly type: "load";
  readonly url: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** Host → worker: score a batch. */
export interface ScoreMessage {
  readonly type: "score";
  readonly id: number;
  readonly batch: OrderBatch;
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
  };

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
    const message = event.data as LoadMessage | ScoreMessage;
    if (message.type === "load") {
      const checked = checkPluginModule(namespace);
      if (!checked.ok) {
        scope.postMessage({ type: "load_error", message: checked.problems.join("; ") });
        return;
      }
      try {
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
      } catch (error) {
        scope.postMessage({ type: "load_error", message: `create() failed: ${describe(error)}` });
      }
      return;
    }
    if (message.type === "score") {
      const orders = unpackOrders(message.batch);
      const scores = new Float64Array(orders.length);
      const failures: [number, OrderFailureReason, string][] = [];
      for (let i = 0; i < orders.length; i++) {
        if (scorer === undefined) {
          scores[i] = NaN;
          failures.push([i, "threw", "scorer was not loaded"]);
          continue;
        }
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
      scope.postMessage({ type: "scored", id: message.id, scores, failures }, [scores.buffer]);
    }
  };
}
