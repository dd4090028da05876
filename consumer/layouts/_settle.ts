/**
 * What both layouts share: the round loop over a chunk (retry until done, pausing and probing
 * through an outage), what they do with records they could not store, and how they wait out an
 * outage.
 *
 * @module
 */
import type {
  ConsumedRecord,
  DeadLetterOutcome,
  HandlerEnv,
  PreparedRecord,
  RecordOutcome,
} from "../handler.ts";
import { backoffDelay, heartbeating, heartbeatingSleep } from "../retry.ts";
import type { BatchContext, Layout, MemberContext } from "./types.ts";

/** A record that was not stored: a dead letter, or a failure to retry. */
export type Unstored = Exclude<RecordOutcome | PreparedRecord, { kind: "stored" | "prepared" }>;

/** Dead-letters, marks records done or failed, and pauses and probes through outages. */
export class Settler {
  readonly #ctx: MemberContext;
  /** The first failure of the last settle round, for the pause log line. */
  lastError: string | undefined;

  constructor(ctx: MemberContext) {
    this.#ctx = ctx;
  }

  /** Publishes dead letters; false (counted and logged) when the DLQ did not acknowledge them. */
  async publishDeadLetters(dead: readonly DeadLetterOutcome[]): Promise<boolean> {
    if (dead.length === 0) return true;
    try {
      await this.#ctx.dlq.publish(dead);
      return true;
    } catch (error) {
      this.#ctx.metrics.dlqFailures.inc();
      this.#ctx.log(
        `consumer: cannot publish ${dead.length} record(s) to the DLQ: ${(error as Error).message}`,
      );
      return false;
    }
  }

  /** A record not stored: done once the DLQ acknowledged it, else failed (pushed to retry). */
  settleUnstored(o: Unstored, dlqOk: boolean, failed: ConsumedRecord[]): void {
    const { partition, offset } = o.record;
    if (o.kind === "dead-letter" && dlqOk) {
      this.#ctx.tracker.markDone(partition, offset);
      this.#ctx.metrics.recordDeadLetter(o.reason);
      return;
    }
    this.#ctx.tracker.markFailed(partition, offset);
    failed.push(o.record);
    if (o.kind === "retryable-failure") {
      this.#ctx.metrics.recordFailure(o.stage);
      this.lastError ??= `${o.stage}: ${(o.error as Error)?.message ?? String(o.error)}`;
    }
  }

  /**
   * Settles a round's outcomes in order: publishes the dead letters among them, hands each
   * record ready to store to `store`, and settles the rest as unstored (appended to `failed`).
   * Returns `failed`.
   */
  async settle<T extends { readonly kind: "stored" | "prepared"; readonly record: ConsumedRecord }>(
    outcomes: readonly (T | Unstored)[],
    store: (o: T) => void,
    failed: ConsumedRecord[],
  ): Promise<ConsumedRecord[]> {
    const dead = outcomes.filter((o): o is DeadLetterOutcome => o.kind === "dead-letter");
    const dlqOk = await this.publishDeadLetters(dead);
    for (const o of outcomes) {
      if (o.kind === "stored" || o.kind === "prepared") store(o as T);
      else this.settleUnstored(o as Unstored, dlqOk, failed);
    }
    return failed;
  }

  /**
   * One more retry round after a failure: pauses the partition the first time (and says why),
   * then backs off and probes the sink until it answers. Returns the attempt count.
   */
  async retryRound(
    batch: BatchContext,
    state: { paused: boolean; attempt: number },
    what: string,
    probe: () => Promise<void>,
  ): Promise<void> {
    state.attempt++;
    if (!state.paused) {
      state.paused = true;
      batch.pause();
      this.#ctx.metrics.setPaused(batch.partition, true);
      this.#ctx.log(
        `consumer: partition ${batch.partition} paused: ${what} (${
          this.lastError ?? "DLQ unavailable"
        }); retrying with backoff`,
      );
    }
    for (;;) {
      await heartbeatingSleep(
        backoffDelay(state.attempt, this.#ctx.backoff),
        batch.heartbeat,
        this.#ctx.stop,
      );
      try {
        await heartbeating(probe, batch.heartbeat);
        return;
      } catch (error) {
        state.attempt++;
        this.#ctx.metrics.probeFailures.inc();
        if (state.attempt % 10 === 0) {
          this.#ctx.log(`consumer: sink still unavailable: ${(error as Error).message}`);
        }
      }
    }
  }
}

/** What one round over a chunk left behind. */
export interface Round {
  /** Records to handle again (in offset order). */
  readonly failed: readonly ConsumedRecord[];
  /** Why to retry although no record failed (a segment write failed), when so. */
  readonly otherFailure?: string;
  /** The partition was revoked meanwhile: stop at once (its next owner re-reads the records). */
  readonly revoked?: boolean;
}

/**
 * A layout as rounds over a chunk: each round handles the records still pending, the loop
 * commits what became durable, and retries the failures (pausing the partition and probing the
 * sink in between) until a round leaves nothing to retry or the member stops.
 */
export abstract class SettlingLayout implements Layout {
  protected readonly ctx: MemberContext;
  protected readonly settler: Settler;
  /** What preparing records needs from the member (`prepareBatch`, `handleBatch`). */
  protected readonly prepareEnv: Pick<HandlerEnv, "score" | "now" | "maxBytes">;

  constructor(ctx: MemberContext) {
    this.ctx = ctx;
    this.settler = new Settler(ctx);
    this.prepareEnv = { score: ctx.score, now: ctx.now, maxBytes: ctx.maxBytes };
  }

  /** One round over `pending` (the whole `chunk` first, then what failed). */
  protected abstract round(
    pending: readonly ConsumedRecord[],
    batch: BatchContext,
    chunk: readonly ConsumedRecord[],
  ): Promise<Round>;
  /** Commits (or schedules the commit of) what is durable, after every round. */
  protected abstract commit(batch: BatchContext): void | Promise<void>;
  /** Resolves when the sink answers again (between retry rounds). */
  protected abstract probe(): Promise<void>;
  /** Called once before the first round and once after the last (not when revoked). */
  protected begin(_chunk: readonly ConsumedRecord[], _batch: BatchContext): void {}
  protected end(_chunk: readonly ConsumedRecord[], _batch: BatchContext): void {}

  /** The member passes non-empty chunks only. */
  async processChunk(
    records: readonly ConsumedRecord[],
    batch: BatchContext,
    attemptsSoFar: number,
  ): Promise<number> {
    const { metrics } = this.ctx;
    const state = { paused: false, attempt: attemptsSoFar };
    this.begin(records, batch);
    let pending: readonly ConsumedRecord[] = records;
    for (;;) {
      const started = performance.now();
      const { failed, otherFailure, revoked } = await this.round(pending, batch, records);
      if (revoked === true) return state.attempt;
      metrics.batchSeconds.observe((performance.now() - started) / 1000);
      await this.commit(batch);
      if (failed.length === 0 && otherFailure === undefined) break;
      pending = failed;
      metrics.retries.inc(Math.max(1, failed.length));
      await this.settler.retryRound(
        batch,
        state,
        failed.length > 0
          ? `${failed.length} record(s) failed from offset ${failed[0]!.offset}`
          : otherFailure!,
        () => this.probe(),
      );
    }
    this.end(records, batch);
    return state.attempt;
  }

  abstract inFlight(): number;
  abstract discard(partition: number): void;
  abstract idle(): Promise<void>;
}
