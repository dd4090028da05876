/**
 * Runs inside the plugin's worker (no permissions), in the plugin process: checks the plugin
 * module, creates the scorer and answers calls. Everything here can be undone by the plugin,
 * which shares this isolate, so the host trusts none of it (see `protocol.ts`).
 *
 * @module
 */
import {
  resolveOptions,
  type Scorer,
  type ScorerModule,
  validateScorerSpec,
} from "../sdk/contract.ts";
import { MAX_MESSAGE_CHARS, MAX_MESSAGES } from "./_limits.ts";

interface Scope {
  onmessage: ((event: MessageEvent<string>) => void) | null;
  postMessage(message: string): void;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : `thrown: ${error}`;
  return text.slice(0, MAX_MESSAGE_CHARS);
}

/** The module's problems, or the module when it has the shape `defineScorer` returns. */
export function checkPluginModule(namespace: unknown): ScorerModule | string {
  const exported = (namespace as { default?: unknown } | null)?.default;
  if (exported === undefined) {
    return "module has no default export (export default defineScorer(...))";
  }
  if (typeof exported !== "object" || exported === null) {
    return "default export must be the object returned by defineScorer()";
  }
  const candidate = exported as { spec?: unknown; create?: unknown };
  const problems = [...validateScorerSpec(candidate.spec)];
  if (typeof candidate.create !== "function") problems.push("create must be a function");
  return problems.length > 0 ? problems.join("; ") : candidate as ScorerModule;
}

/** Scores every order on its own: a throw or an invalid result fails that order only. */
export function scoreAll(scorer: Scorer, orders: readonly unknown[]): {
  scores: (number | null)[];
  errors: [number, string, string][];
} {
  const scores: (number | null)[] = new Array(orders.length);
  const errors: [number, string, string][] = [];
  for (let i = 0; i < orders.length; i++) {
    let reason = "threw", message: string;
    try {
      const value: unknown = scorer.score(orders[i] as never);
      if (typeof value === "number" && value >= 0 && value < 1) {
        scores[i] = value;
        continue;
      }
      reason = "invalid_result";
      message = `score() returned ${String(value)}`.slice(0, MAX_MESSAGE_CHARS);
    } catch (error) {
      message = describe(error);
    }
    scores[i] = null;
    errors.push([i, reason, errors.length < MAX_MESSAGES ? message : ""]);
  }
  return { scores, errors };
}

/** Loads the plugin with `options`, then answers each call message with its scores. */
export function serve(namespace: unknown, options: unknown, scope: Scope): void {
  const checked = checkPluginModule(namespace);
  let scorer: Scorer;
  try {
    if (typeof checked === "string") throw new TypeError(checked);
    const created: unknown = checked.create(resolveOptions(checked.spec, options));
    if (typeof (created as Scorer | null)?.score !== "function") {
      throw new TypeError("create() must return an object with a score(order) function");
    }
    scorer = created as Scorer;
    scope.postMessage(JSON.stringify({ type: "loaded", spec: (checked as ScorerModule).spec }));
  } catch (error) {
    scope.postMessage(JSON.stringify({ type: "load_error", message: describe(error) }));
    return;
  }
  scope.onmessage = (event) => {
    const call = JSON.parse(event.data) as { id: number; orders: unknown[] };
    scope.postMessage(
      JSON.stringify({ type: "scored", id: call.id, ...scoreAll(scorer, call.orders) }),
    );
  };
}
