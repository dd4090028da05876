/**
 * The edge-style handler: a batch of Kafka records plus an environment in, one outcome per record
 * out. It owns decode → validate → score → enrich → write; it never touches Kafka, offsets or the
 * DLQ topic — the shell (`consumer/group_member.ts`) acts on the outcomes.
 *
 * @module
 */
import { forEachBounded } from "../core/async.ts";
import { Order, OrderValidationError } from "../core/order.ts";
import type { OrderData } from "../core/order.ts";
import { orderKey } from "../core/order_key.ts";
import { isUtf8 } from "node:buffer";
import { enrichedJson } from "../core/enrich.ts";
import { type Sink, SinkWriteError } from "./sinks/types.ts";

/** A kafkajs header value. */
export type HeaderValue = string | Uint8Array | readonly (string | Uint8Array)[];

/** One consumed record, in the shape the handler needs (a subset of kafkajs' message). */
export interface ConsumedRecord {
  readonly partition: number;
  /** Decimal string, as kafkajs gives it. */
  readonly offset: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, HeaderValue | undefined>>;
  /** Record timestamp, epoch ms as a decimal string. */
  readonly timestamp: string;
}

/** The scoring host's result and function types, re-exported for the handler's callers. */
export type { ScoreFn, ScoreResult } from "../plugins_host/types.ts";
import type { ScoreFn, ScoreResult } from "../plugins_host/types.ts";

/** Why a record went to the DLQ. */
export type DeadLetterReason =
  | "empty"
  | "oversized"
  | "undecodable"
  | "invalid_json"
  | "invalid_order"
  | "unsafe_order_id"
  | "sink_rejected";

/** A validation problem, as `OrderValidationError.issues` lists them. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** The record is durable in the sink. */
export interface StoredOutcome {
  readonly kind: "stored";
  readonly record: ConsumedRecord;
  readonly key: string;
  readonly orderId: string;
  readonly channel: string;
  readonly total: number;
  readonly riskScore: number;
  readonly scorer: string;
  readonly fallback: boolean;
  /** Produce → stored latency in ms, when the producer stamped `produced_at`. */
  readonly latencyMs: number | undefined;
  /** The producer's edge score (valid `risk.score` header), stored as `edge_risk_score`. */
  readonly edgeRiskScore?: number;
  /** True when the record had a `risk.score` header that is not a number in [0, 1] (ignored). */
  readonly edgeScoreInvalid?: boolean;
}

/** The record cannot ever be processed: the shell must send it to the DLQ. */
export interface DeadLetterOutcome {
  readonly kind: "dead-letter";
  readonly record: ConsumedRecord;
  readonly reason: DeadLetterReason;
  readonly detail: string;
  readonly issues?: readonly Issue[];
}

/** Processing failed for a reason that may pass (sink outage, scorer crash): retry it. */
export interface RetryableOutcome {
  readonly kind: "retryable-failure";
  readonly record: ConsumedRecord;
  readonly stage: "score" | "sink";
  readonly error: unknown;
}

/** What happened to one record. */
export type RecordOutcome = StoredOutcome | DeadLetterOutcome | RetryableOutcome;

/** What the handler needs from the outside world. */
export interface HandlerEnv {
  readonly score: ScoreFn;
  readonly sink: Sink;
  /** Clock, epoch ms. */
  readonly now: () => number;
  /** Records with a larger value are dead-lettered as `oversized`. */
  readonly maxBytes: number;
  /** Concurrent sink writes per call (default 16). */
  readonly concurrency?: number;
}

/** Order IDs as `core/order.ts` accepts them; anything path-like is reported as unsafe. */
// deno-lint-ignore no-control-regex -- control characters are exactly what this rejects
const PATH_LIKE = /[/\\.\u0000-\u001f\u007f]/;

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
/** For input `isUtf8` accepted: the same text as `decoder`, without the fatal mode's cost. */
const validDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });
const encoder = new TextEncoder();

/**
 * Strict UTF-8 decoding: throws like a `fatal` TextDecoder for invalid input. Valid input (the
 * common case) is checked with `isUtf8` and decoded in replacement mode, which yields the same
 * text (replacement only happens for invalid input) about twice as fast.
 */
function decodeUtf8(bytes: Uint8Array): string {
  return isUtf8(bytes) ? validDecoder.decode(bytes) : decoder.decode(bytes);
}

const NEWLINE = 0x0a;
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
function producedAtMs(record: ConsumedRecord, order: OrderData): number | undefined {
  const header = producedAtHeader(record.headers["produced_at"]);
  if (header !== undefined) return header;
  if (order.producedAt !== undefined) {
    const ms = Date.parse(order.producedAt);
    if (Number.isFinite(ms)) return ms;
  }
  return recordTime(record);
}

/** The Kafka record timestamp, epoch ms, when the record has one. */
function recordTime(record: ConsumedRecord): number | undefined {
  const timestamp = Number(record.timestamp);
  return Number.isSafeInteger(timestamp) && timestamp > 0 ? timestamp : undefined;
}

/** The edge score header `deno task produce --score` stamps (see `producer/edge.ts`). */
const EDGE_SCORE_HEADER = "risk.score";
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

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

type Parsed =
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

/** A valid, scored, enriched record ready to be written: the body and what its outcome says. */
export interface PreparedOutcome {
  readonly kind: "prepared";
  readonly record: ConsumedRecord;
  /** Per-order object key (`orders/dt=.../orderId=<id>.json`). */
  readonly key: string;
  /** UTC date of `created_at` (`YYYY-MM-DD`), the `dt=` partition of the key. */
  readonly dt: string;
  /** One NDJSON line: the enriched order and `\n`. */
  readonly body: Uint8Array;
  /** The outcome to report once the body is durable (`latencyMs` is then recomputed). */
  readonly stored: StoredOutcome;
  /** `produced_at` epoch ms, when known. */
  readonly producedAt: number | undefined;
}

/** What {@linkcode prepareBatch} returns per record. */
export type PreparedRecord = PreparedOutcome | DeadLetterOutcome | RetryableOutcome;

/**
 * Decodes, validates, scores (one call for the batch) and enriches records without writing them:
 * one frozen outcome per record, in input order. Layouts that group records (batched) write the
 * prepared bodies themselves; {@linkcode handleBatch} writes one object per order.
 */
export async function prepareBatch(
  records: readonly ConsumedRecord[],
  env: Pick<HandlerEnv, "score" | "now" | "maxBytes">,
): Promise<readonly PreparedRecord[]> {
  const outcomes: (PreparedRecord | undefined)[] = new Array(records.length);
  const valid: { index: number; order: Order }[] = [];
  records.forEach((record, index) => {
    // Validity is a function of the record alone: "too far in the future" is judged against the
    // record's own timestamp, not the clock, so every member that reads the record decides the
    // same (the batched layout's object names depend on it, see consumer/sinks/segment_key.ts).
    const parsed = parseRecord(record, env.maxBytes, recordTime(record));
    if (parsed.ok) valid.push({ index, order: parsed.order });
    else outcomes[index] = parsed.outcome;
  });
  if (valid.length > 0) {
    let scores: readonly ScoreResult[] | undefined;
    let scoreError: unknown;
    try {
      scores = await env.score(valid.map((v) => v.order));
      if (scores.length !== valid.length) {
        throw new RangeError(
          `Cannot use scores: got ${scores.length} results for ${valid.length} orders`,
        );
      }
    } catch (error) {
      scoreError = error;
      scores = undefined;
    }
    const consumedAt = env.now();
    // One NDJSON line per order. The chunk's lines are encoded in one call (one allocation, not
    // one per record) and each body is a view of its line: JSON text never contains a raw "\n"
    // byte, so every line ends at the next 0x0A.
    const lines: string[] = [];
    const ready: {
      readonly index: number;
      readonly order: Order;
      readonly result: ScoreResult;
      readonly key: string;
      readonly producedAt: number | undefined;
      readonly edge: { readonly score?: number; readonly invalid?: true };
    }[] = [];
    valid.forEach(({ index, order }, i) => {
      const record = records[index]!;
      const result = scores?.[i];
      if (result === undefined) {
        outcomes[index] = Object.freeze<RetryableOutcome>({
          kind: "retryable-failure",
          record,
          stage: "score",
          error: scoreError,
        });
        return;
      }
      const key = orderKey(order);
      const producedAt = producedAtMs(record, order);
      const edge = edgeScoreHeader(record.headers[EDGE_SCORE_HEADER]);
      lines.push(enrichedJson(order, {
        consumedAt,
        ...(producedAt === undefined ? {} : { producedAt }),
        riskScore: result.score,
        ...(edge.score === undefined ? {} : { edgeRiskScore: edge.score }),
        scorer: result.scorer,
      }));
      ready.push({ index, order, result, key, producedAt, edge });
    });
    lines.push(""); // the last line's "\n"
    const bytes = encoder.encode(lines.join("\n"));
    let start = 0;
    for (const { index, order, result, key, producedAt, edge } of ready) {
      const end = bytes.indexOf(NEWLINE, start) + 1;
      if (end === 0) throw new RangeError("Cannot slice encoded lines: a line has no newline");
      const record = records[index]!;
      outcomes[index] = Object.freeze<PreparedOutcome>({
        kind: "prepared",
        record,
        key,
        dt: order.createdAt.slice(0, 10),
        body: bytes.subarray(start, end),
        producedAt,
        stored: Object.freeze<StoredOutcome>({
          kind: "stored",
          record,
          key,
          orderId: order.orderId,
          channel: order.channel,
          total: order.total,
          riskScore: result.score,
          scorer: result.scorer,
          fallback: result.fallback,
          latencyMs: undefined,
          ...(edge.score === undefined ? {} : { edgeRiskScore: edge.score }),
          ...(edge.invalid ? { edgeScoreInvalid: true } : {}),
        }),
      });
      start = end;
    }
  }
  return Object.freeze(outcomes.map((o) => o!));
}

/**
 * Processes a batch; returns one frozen outcome per record, in input order. Orders are scored in
 * one call. Writes run with bounded concurrency; writes of the same key keep input order, and
 * once one fails the later ones of that key fail too (a retry must not reorder them).
 *
 * Throws only for bugs; every expected failure is an outcome.
 */
export async function handleBatch(
  records: readonly ConsumedRecord[],
  env: HandlerEnv,
): Promise<readonly RecordOutcome[]> {
  const prepared = await prepareBatch(records, env);
  const outcomes: RecordOutcome[] = new Array(records.length);
  const toWrite: { index: number; p: PreparedOutcome }[] = [];
  prepared.forEach((p, index) => {
    if (p.kind === "prepared") toWrite.push({ index, p });
    else outcomes[index] = p;
  });
  const chains = new Map<string, Promise<boolean>>();
  const limit = env.concurrency ?? 16;
  await forEachBounded(toWrite, limit, async ({ index, p }) => {
    const { record, key, body, producedAt } = p;
    const previous = chains.get(key);
    const run = (async (): Promise<boolean> => {
      if (previous !== undefined && !(await previous)) {
        throw new SinkWriteError(
          `Cannot write ${key}: an earlier record of the same key failed in this batch`,
          { key, retryable: true },
        );
      }
      await env.sink.write(key, body, { partition: record.partition, offset: record.offset });
      return true;
    })();
    chains.set(key, run.then(() => true, () => false));
    try {
      await run;
      outcomes[index] = Object.freeze<RecordOutcome>({
        ...p.stored,
        latencyMs: producedAt === undefined ? undefined : env.now() - producedAt,
      });
    } catch (error) {
      if (error instanceof SinkWriteError && !error.retryable) {
        outcomes[index] = Object.freeze<RecordOutcome>({
          kind: "dead-letter",
          record,
          reason: "sink_rejected",
          detail: describe(error),
        });
      } else {
        outcomes[index] = Object.freeze<RecordOutcome>({
          kind: "retryable-failure",
          record,
          stage: "sink",
          error,
        });
      }
    }
  });
  return Object.freeze(outcomes);
}
