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

/** A plain order as a scorer receives it (the fields of OrderData, in its key order). */
interface PlainOrder {
  orderId: string;
  customerId: string;
  channel: string;
  items: { sku: string; quantity: number; unitPrice: number }[];
  total: number;
  currency: string;
  createdAt: string;
  producedAt?: string;
}

/**
 * Rebuilds plain orders from the host's columns (`encodeOrders` in `order_data.ts`; this file
 * may import nothing of the host but `_limits.ts`), with the keys of `plainOrderData` in the
 * same order, so a plugin sees the same objects as before columns were the wire shape.
 */
export function decodeOrders(columns: readonly unknown[][]): PlainOrder[] {
  const [orderId, customerId, channel, total, currency, createdAt, producedAt, itemCount] =
    columns as [
      string[],
      string[],
      string[],
      number[],
      string[],
      string[],
      (string | null)[],
      number[],
    ];
  const [sku, quantity, unitPrice] = columns.slice(8) as [string[], number[], number[]];
  const orders: PlainOrder[] = new Array(orderId.length);
  let at = 0;
  for (let i = 0; i < orders.length; i++) {
    const items = new Array(itemCount[i]!);
    for (let k = 0; k < items.length; k++, at++) {
      items[k] = { sku: sku[at]!, quantity: quantity[at]!, unitPrice: unitPrice[at]! };
    }
    const order: PlainOrder = {
      orderId: orderId[i]!,
      customerId: customerId[i]!,
      channel: channel[i]!,
      items,
      total: total[i]!,
      currency: currency[i]!,
      createdAt: createdAt[i]!,
    };
    const produced = producedAt[i];
    if (produced !== null && produced !== undefined) order.producedAt = produced;
    orders[i] = order;
  }
  return orders;
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
    const call = JSON.parse(event.data) as { id: number; orders: unknown[][] };
    const orders = decodeOrders(call.orders);
    scope.postMessage(JSON.stringify({ type: "scored", id: call.id, ...scoreAll(scorer, orders) }));
  };
}
