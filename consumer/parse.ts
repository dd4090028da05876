/**
 * Decoding and validating one record, and reading its headers: strict UTF-8, JSON, a path-safe
 * `orderId`, `Order.fromRaw`; when it was produced (`produced_at` header, body, record
 * timestamp); the producer's edge score (`risk.score` header). Bad input is an outcome, never an
 * exception.
 *
 * @module
 */
import { isUtf8 } from "node:buffer";
import { Order, OrderValidationError } from "../core/order.ts";
import type { OrderData } from "../core/order.ts";
import type {
  ConsumedRecord,
  DeadLetterOutcome,
  DeadLetterReason,
  HeaderValue,
  Issue,
} from "./outcomes.ts";

/** Order IDs as `core/order.ts` accepts them; anything path-like is reported as unsafe. */
// deno-lint-ignore no-control-regex -- control characters are exactly what this rejects
const PATH_LIKE = /[/\\.\u0000-\u001f\u007f]/;

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
/** For input `isUtf8` accepted: the same text as `decoder`, without the fatal mode's cost. */
const validDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });

/**
 * Strict UTF-8 decoding: throws like a `fatal` TextDecoder for invalid input. Valid input (the
 * common case) is checked with `isUtf8` and decoded in replacement mode, which yields the same
 * text (replacement only happens for invalid input) about twice as fast.
 */
function decodeUtf8(bytes: Uint8Array): string {
  return isUtf8(bytes) ? validDecoder.decode(bytes) : decoder.decode(bytes);
}

const DIGIT_0 = 48;
const DIGIT_9 = 57;

/**
 * The `produced_at` header as epoch ms when it is 1–16 ASCII digits (the producer writes
 * `String(Date.now())`), else undefined. Reads the bytes directly for up to 15 digits (exact in
 * a double); everything else goes through the text.
 */
function producedAtHeader(value: HeaderValue | undefined): number | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first instanceof Uint8Array && first.length > 0 && first.length <= 15) {
    let ms = 0;
    let i = 0;
    for (; i < first.length; i++) {
      const c = first[i]!;
      if (c < DIGIT_0 || c > DIGIT_9) break; // e.g. a BOM, which decoding drops: use the text
      ms = ms * 10 + (c - DIGIT_0);
    }
    if (i === first.length) return ms;
  }
  const header = headerText(value);
  return header !== undefined && /^\d{1,16}$/.test(header) ? Number(header) : undefined;
}

function headerText(value: HeaderValue | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  if (typeof first === "string") return first;
  try {
    return decodeUtf8(first as Uint8Array);
  } catch {
    return undefined; // an undecodable header is treated as absent
  }
}

/**
 * When the order was produced, epoch ms: the `produced_at` header, else the body's ISO
 * `produced_at`, else the Kafka record timestamp (the producer's CreateTime, or the broker's
 * LogAppendTime on such topics) — never the order's `created_at`, which says when the order was
 * placed, not when it entered the pipeline.
 */
export function producedAtMs(record: ConsumedRecord, order: OrderData): number | undefined {
  const header = producedAtHeader(record.headers["produced_at"]);
  if (header !== undefined) return header;
  if (order.producedAt !== undefined) {
    const ms = Date.parse(order.producedAt);
    if (Number.isFinite(ms)) return ms;
  }
  return recordTime(record);
}

/** The Kafka record timestamp, epoch ms, when the record has one. */
export function recordTime(record: ConsumedRecord): number | undefined {
  const timestamp = Number(record.timestamp);
  return Number.isSafeInteger(timestamp) && timestamp > 0 ? timestamp : undefined;
}

/** The edge score header `deno task produce --score` stamps (see `producer/edge.ts`). */
export const EDGE_SCORE_HEADER = "risk.score";
/** A decimal number as `String(number)` writes one, with an exponent for tiny scores. */
const DECIMAL = /^(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * The `risk.score` header: `{ score }` when it is a decimal number in [0, 1], `{ invalid }` when
 * present but not (it is only a hint from the producer, so a bad one is ignored, never a reason
 * to dead-letter the order), `{}` when absent.
 */
export function edgeScoreHeader(
  value: HeaderValue | undefined,
): { readonly score?: number; readonly invalid?: true } {
  if (value === undefined) return {};
  const text = headerText(value);
  if (text === undefined || text.length > 32 || !DECIMAL.test(text)) return { invalid: true };
  const score = Number(text);
  return score >= 0 && score <= 1 ? { score } : { invalid: true };
}

/** `Name: message` of an error, or its text. */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A valid order, or the dead-letter outcome that says why not. */
export type Parsed =
  | { readonly ok: true; readonly order: Order }
  | { readonly ok: false; readonly outcome: DeadLetterOutcome };

function deadLetter(
  record: ConsumedRecord,
  reason: DeadLetterReason,
  detail: string,
  issues?: readonly Issue[],
): Parsed {
  const outcome: DeadLetterOutcome = issues === undefined
    ? { kind: "dead-letter", record, reason, detail }
    : { kind: "dead-letter", record, reason, detail, issues };
  return { ok: false, outcome: Object.freeze(outcome) };
}

/**
 * Decodes and validates one record: strict UTF-8, JSON, path-safety of `orderId`, then
 * `Order.fromRaw` with `now` as the time timestamps are judged against (default: the clock).
 * Never throws for bad input; returns the dead-letter outcome instead.
 */
export function parseRecord(record: ConsumedRecord, maxBytes: number, now?: number): Parsed {
  const value = record.value;
  if (value === null || value.length === 0) {
    return deadLetter(record, "empty", "record has no value");
  }
  if (value.length > maxBytes) {
    return deadLetter(record, "oversized", `value is ${value.length} bytes, limit ${maxBytes}`);
  }
  let text: string;
  try {
    text = decodeUtf8(value);
  } catch (error) {
    return deadLetter(record, "undecodable", `value is not valid UTF-8: ${describe(error)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return deadLetter(record, "invalid_json", describe(error));
  }
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
    const id = (raw as Record<string, unknown>)["orderId"];
    if (typeof id === "string" && PATH_LIKE.test(id)) {
      return deadLetter(
        record,
        "unsafe_order_id",
        `orderId ${JSON.stringify(id.slice(0, 80))} is not a safe key segment ` +
          "(allowed: ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)",
      );
    }
  }
  try {
    const order = now === undefined ? Order.fromRaw(raw) : Order.fromRaw(raw, { now });
    return { ok: true, order };
  } catch (error) {
    if (error instanceof OrderValidationError) {
      const issues = error.issues.map((i) => Object.freeze({ path: i.path, message: i.message }));
      return deadLetter(
        record,
        "invalid_order",
        issues.map((i) => `${i.path}: ${i.message}`).join("; "),
        Object.freeze(issues),
      );
    }
    throw error; // a bug, not bad input
  }
}
