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
  postMessage(message: unknown): void;
}

/** Sends a message to the relay thread (the worker's own `postMessage`, kept by `confine`). */
export type ToRelay = (message: string | 0) => void;

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

/** Writes `line` and a newline to stdout, whole (a pipe may take part of it per write). */
function writeLine(line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

const encoder = new TextEncoder();

/** Answers each call line read from stdin with one reply line on stdout, in order. */
async function answerCalls(scorer: Scorer): Promise<void> {
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(256 * 1024);
  let head = ""; // the start of a line longer than the chunks read so far
  for (;;) {
    const n = await Deno.stdin.read(chunk);
    if (n === null) return;
    const bytes = chunk.subarray(0, n);
    let from = 0;
    // "\n" (byte 10) never occurs inside a JSON line or a multi-byte UTF-8 character.
    for (let newline = bytes.indexOf(10); newline >= 0; newline = bytes.indexOf(10, from)) {
      const tail = bytes.subarray(from, newline);
      // Not streaming: this also flushes a character the previous chunk ended inside of.
      const line = head + decoder.decode(tail);
      head = "";
      from = newline + 1;
      const call = JSON.parse(line) as { id: number; orders: unknown[][] };
      const orders = decodeOrders(call.orders);
      writeLine(JSON.stringify({ type: "scored", id: call.id, ...scoreAll(scorer, orders) }));
    }
    if (from < n) head += decoder.decode(bytes.subarray(from), { stream: true });
  }
}

/**
 * Runs before the plugin's module: keeps the worker's `postMessage` for the harness and makes
 * the plugin's `postMessage` write a line to stdout, in order with the replies (what a plugin
 * posts reaches the host, which judges it, as when every line went through the relay).
 */
export function confine(scope: Scope): ToRelay {
  const toRelay = scope.postMessage.bind(scope);
  scope.postMessage = (message: unknown) => writeLine(String(message));
  return toRelay;
}

/**
 * Loads the plugin with `options` and answers calls. The load reply goes through the relay,
 * which reports memory right after it; calls are read from stdin and answered on stdout by this
 * worker itself, so a call costs no hop between threads. Memory reports the relay sends here are
 * written between replies, never inside one. When stdin ends (the host is done or gone), `0`
 * asks the relay to end the process.
 */
export function serve(namespace: unknown, options: unknown, scope: Scope, toRelay: ToRelay): void {
  const checked = checkPluginModule(namespace);
  let scorer: Scorer;
  try {
    if (typeof checked === "string") throw new TypeError(checked);
    const created: unknown = checked.create(resolveOptions(checked.spec, options));
    if (typeof (created as Scorer | null)?.score !== "function") {
      throw new TypeError("create() must return an object with a score(order) function");
    }
    scorer = created as Scorer;
    toRelay(JSON.stringify({ type: "loaded", spec: (checked as ScorerModule).spec }));
  } catch (error) {
    toRelay(JSON.stringify({ type: "load_error", message: describe(error) }));
    return;
  }
  scope.onmessage = (event) => writeLine(String(event.data));
  answerCalls(scorer).finally(() => toRelay(0));
}
