/**
 * What both layouts do with records they could not store, and how they wait out an outage.
 *
 * @module
 */
import type {
  ConsumedRecord,
  DeadLetterOutcome,
  PreparedRecord,
  RecordOutcome,
} from "../handler.ts";
import { backoffDelay, heartbeating, heartbeatingSleep } from "../retry.ts";
import type { BatchContext, MemberContext } from "./types.ts";

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
