/**
 * The edge-style handler: a batch of Kafka records plus an environment in, one outcome per record
 * out. It owns decode → validate → score → enrich → write; it never touches Kafka, offsets or the
 * DLQ topic — the shell (`consumer/group_member.ts`) acts on the outcomes. Decoding and
 * validation are in `parse.ts`, the record and outcome types in `outcomes.ts`.
 *
 * @module
 */
import { forEachBounded } from "../core/async.ts";
import type { Order } from "../core/order.ts";
import { orderKey } from "../core/order_key.ts";
import { enrichedJson } from "../core/enrich.ts";
import { type Sink, SinkWriteError } from "./sinks/types.ts";
import type {
  ConsumedRecord,
  PreparedOutcome,
  PreparedRecord,
  RecordOutcome,
  RetryableOutcome,
  StoredOutcome,
} from "./outcomes.ts";
import {
  describe,
  EDGE_SCORE_HEADER,
  edgeScoreHeader,
  parseRecord,
  producedAtMs,
  recordTime,
} from "./parse.ts";

export type * from "./outcomes.ts";
export { edgeScoreHeader, parseRecord } from "./parse.ts";

/** The scoring host's result and function types, re-exported for the handler's callers. */
export type { ScoreFn, ScoreResult } from "../plugins_host/types.ts";
import type { ScoreFn, ScoreResult } from "../plugins_host/types.ts";

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

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

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
