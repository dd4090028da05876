/**
 * The line protocol between the host and a plugin process, and the host's validation of every
 * message. One JSON object per line, in both directions:
 *
 * - plugin → host, once, first: `{"type":"loaded","spec":{…}}` or
 *   `{"type":"load_error","message":"…"}`.
 * - host → plugin: `{"id":7,"orders":[[…],…]}`; ids increase by one per call; `orders` is one
 *   array per field (`OrderColumns` in `order_data.ts`), which the plugin side turns back into
 *   plain OrderData before its scorer sees them.
 * - plugin → host, one per call, in call order: `{"type":"scored","id":7,"scores":[…],
 *   "errors":[[index,"threw"|"invalid_result","message"],…]}`. `scores[i]` is a number in [0, 1)
 *   or `null`, and a `null` score has exactly one error entry.
 *
 * - plugin process → host, at any time: `{"type":"memory","rss":N}`, its resident memory.
 *
 * Everything a plugin process writes is untrusted: a reply that breaks any rule here (or is
 * longer than {@linkcode replyLimitBytes}, or arrives when no call is waiting) is a `protocol`
 * failure and the process is killed.
 *
 * @module
 */
import { type ScorerSpec, validateScorerSpec } from "../sdk/contract.ts";
import { MAX_MESSAGE_CHARS } from "./_limits.ts";
/** Most bytes of the load reply. */
export const LOAD_LIMIT_BYTES = 64 * 1024;

/** Most bytes of a memory report. */
export const MEMORY_LINE_BYTES = 64;

/**
 * Reads a memory report; undefined when it is not a well-formed one.
 *
 * @example
 * ```ts
 * import { parseMemoryLine } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseMemoryLine('{"type":"memory","rss":1024}'), 1024);
 * assert.equal(parseMemoryLine('{"type":"memory","rss":-1}'), undefined);
 * ```
 */
export function parseMemoryLine(line: string): number | undefined {
  try {
    const value = JSON.parse(line);
    const ok = Object.keys(value).length === 2 && Number.isSafeInteger(value.rss) && value.rss >= 0;
    return ok ? value.rss : undefined;
  } catch {
    return undefined;
  }
}

/** Most bytes of the reply to a call of `n` orders: a number and an error entry per order. */
export function replyLimitBytes(n: number): number {
  return 64 * 1024 + 64 * n;
}

/** A rule of the protocol was broken; the message says which. */
export class ProtocolError extends TypeError {
  /**
   * @param message What was wrong, e.g. `reply id 3, expected 2`.
   */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** What a plugin reported for one order that has no score. */
export type OrderError = readonly [index: number, reason: "threw" | "invalid_result", string];

/** A validated reply to one call. */
export interface ScoreReply {
  /** A score in [0, 1), or `null` where `errors` names the order. */
  readonly scores: readonly (number | null)[];
  readonly errors: readonly OrderError[];
}

/** A validated load reply. */
export type LoadReply =
  | { readonly type: "loaded"; readonly spec: ScorerSpec }
  | { readonly type: "load_error"; readonly message: string };

function parse(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolError("a reply is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("a reply is not a JSON object");
  }
  return value as Record<string, unknown>;
}

function keys(value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ProtocolError(`a reply has an unknown field`);
  }
}

/** Control, bidi-override and line-separator characters: escaped in plugin text. */
// deno-lint-ignore no-control-regex -- control characters are exactly what this finds
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes control, bidi and line-separator characters and cuts `text` to `max` characters, so
 * plugin text can go into one log line or a table cell.
 *
 * @example
 * ```ts
 * import { sanitize } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sanitize("a\x1b[31mb\nc"), "a\\x1b[31mb\\nc");
 * assert.equal(sanitize("abcdef", 3), "abc…");
 * ```
 */
export function sanitize(text: string, max = MAX_MESSAGE_CHARS): string {
  // Cut, escape, cut again: escapes make the text longer, and the result must stay within max.
  const escaped = text.slice(0, max + 1).replace(UNSAFE, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return escaped.length > max ? escaped.slice(0, max) + "…" : escaped;
}

/**
 * Validates the first line of a plugin process. The spec is checked with the same rules
 * `defineScorer` applies, since the process could send anything.
 *
 * @example
 * ```ts
 * import { parseLoadReply } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseLoadReply('{"type":"loaded","spec":{"channel":7}}'), /spec/);
 * assert.deepEqual(parseLoadReply('{"type":"load_error","message":"x\\u001b"}'), {
 *   type: "load_error",
 *   message: "x\\x1b",
 * });
 * ```
 */
export function parseLoadReply(line: string): LoadReply {
  const value = parse(line);
  if (value.type === "load_error") {
    keys(value, ["type", "message"]);
    if (typeof value.message !== "string") throw new ProtocolError("load_error without a message");
    return { type: "load_error", message: sanitize(value.message, 2000) };
  }
  if (value.type !== "loaded") throw new ProtocolError("the first reply is not a load reply");
  keys(value, ["type", "spec"]);
  const problems = validateScorerSpec(value.spec);
  if (problems.length > 0) {
    throw new ProtocolError(`the loaded spec is invalid: ${sanitize(problems.join("; "), 500)}`);
  }
  return { type: "loaded", spec: value.spec as ScorerSpec };
}

/**
 * Validates the reply to call `id` of `n` orders.
 *
 * @example
 * ```ts
 * import { parseScoreReply } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const ok = '{"type":"scored","id":1,"scores":[0.5,null],"errors":[[1,"threw","boom"]]}';
 * assert.deepEqual(parseScoreReply(ok, 1, 2).scores, [0.5, null]);
 * assert.throws(() => parseScoreReply(ok, 2, 2), /expected 2/);
 * assert.throws(() => parseScoreReply(ok, 1, 3), /scores/);
 * assert.throws(() => parseScoreReply('{"type":"scored","id":1,"scores":[1],"errors":[]}', 1, 1), /scores\[0\]/);
 * ```
 */
export function parseScoreReply(line: string, id: number, n: number): ScoreReply {
  const value = parse(line);
  keys(value, ["type", "id", "scores", "errors"]);
  if (value.type !== "scored") throw new ProtocolError("a reply is not a score reply");
  if (value.id !== id) {
    throw new ProtocolError(`reply for call ${String(value.id)}, expected ${id}`);
  }
  const { scores, errors } = value;
  if (!Array.isArray(scores) || scores.length !== n) {
    throw new ProtocolError(`scores must be an array of ${n}`);
  }
  if (!Array.isArray(errors) || errors.length > n) {
    throw new ProtocolError(`errors must be an array of at most ${n}`);
  }
  const named = new Set<number>();
  const out: OrderError[] = [];
  for (const entry of errors as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3) throw new ProtocolError("bad error entry");
    const [index, reason, message] = entry as unknown[];
    if (
      typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= n ||
      named.has(index) || scores[index] !== null
    ) throw new ProtocolError("an error entry names a wrong order");
    if (reason !== "threw" && reason !== "invalid_result") {
      throw new ProtocolError("an error entry has an unknown reason");
    }
    if (typeof message !== "string") throw new ProtocolError("an error message is not a string");
    named.add(index);
    out.push([index, reason, sanitize(message)]);
  }
  for (let i = 0; i < n; i++) {
    const score: unknown = scores[i];
    if (score === null ? !named.has(i) : !(typeof score === "number" && score >= 0 && score < 1)) {
      throw new ProtocolError(`scores[${i}] must be in [0, 1), or null with an error entry`);
    }
  }
  return { scores: scores as (number | null)[], errors: out };
}

/**
 * Cuts the validated reply to a merged call into the replies of its parts, of `sizes` orders
 * each (error indices become the part's own).
 *
 * @example
 * ```ts
 * import { splitReply } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const reply = { scores: [0.1, null, 0.3], errors: [[1, "threw", "boom"]] } as const;
 * assert.deepEqual(splitReply(reply, [1, 2]), [
 *   { scores: [0.1], errors: [] },
 *   { scores: [null, 0.3], errors: [[0, "threw", "boom"]] },
 * ]);
 * ```
 */
export function splitReply(reply: ScoreReply, sizes: readonly number[]): ScoreReply[] {
  const starts: number[] = [];
  let from = 0;
  const parts = sizes.map((size) => {
    starts.push(from);
    const scores = reply.scores.slice(from, from += size);
    return { scores, errors: [] as OrderError[] };
  });
  for (const [index, reason, message] of reply.errors) {
    let k = starts.length - 1;
    while (starts[k]! > index) k--;
    parts[k]!.errors.push([index - starts[k]!, reason, message]);
  }
  return parts;
}
