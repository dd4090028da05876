/**
 * The publishing loop: source → pacer → batcher → publisher, with counts, latency percentiles
 * and a clean stop (end of input, `--count`, `--duration`, a signal, or a delivery failure).
 *
 * @module
 */

import { LatencyHistogram } from "../core/histogram.ts";
import { Batcher } from "./batcher.ts";
import type { Pacer } from "./pacer.ts";
import type { DeliveryReport, Publisher } from "./publisher.ts";
import type { OutgoingRecord, SourceItem } from "./sources.ts";

/** Records latencies for percentiles (core's `LatencyHistogram` in production). */
export interface LatencyRecorder {
  /** Add one observation in ms. */
  observe(ms: number): void;
  /** The `q`-quantile (0..1) in ms, NaN when empty. */
  quantile(q: number): number;
}

/** Why the run stopped reading input. */
export type StopReason = "end" | "duration" | "signal" | "failure";

/** Live counters (for progress output). */
export interface ProduceCounts {
  /** Input items taken from the source (records + invalid lines). */
  readonly read: number;
  /** Records handed to Kafka. */
  readonly sent: number;
  /** Records acknowledged by the broker. */
  readonly acked: number;
  /** Records not acknowledged (after retries). */
  readonly failed: number;
  /** Input lines rejected before sending. */
  readonly invalid: number;
  /** Milliseconds since the run started. */
  readonly elapsedMs: number;
}

/** The final report of a run. */
export interface ProduceSummary extends ProduceCounts {
  /** Acknowledged records per second over the whole run. */
  readonly throughput: number;
  /** Ack latency percentiles in ms (null when nothing was acknowledged). */
  readonly latencyMs: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
  };
  readonly stoppedBy: StopReason;
  /** The first delivery error, if any. */
  readonly firstError?: Error;
  /** Batches sent. */
  readonly batches: number;
}

/** Options of {@linkcode produce}. */
export interface ProduceOptions {
  readonly source: Iterable<SourceItem> | AsyncIterable<SourceItem>;
  readonly publisher: Publisher;
  readonly lingerMs: number;
  readonly batchSize: number;
  readonly maxInFlight: number;
  /** Paces records (not invalid lines); none = as fast as possible. */
  readonly pacer?: Pacer;
  /** Stop reading input after this many ms. */
  readonly durationMs?: number;
  /** Abort to stop reading input; what was read is still flushed. */
  readonly signal?: AbortSignal;
  /** Stop reading input at the first failed delivery (default true). */
  readonly stopOnFailure?: boolean;
  readonly latency: LatencyRecorder;
  /** Called for each rejected input line. */
  readonly onInvalid?: (line: number, reason: string) => void;
  /** Called for each delivery report. */
  readonly onDelivery?: (report: DeliveryReport) => void;
  /** Called once when the run stops reading input early. */
  readonly onStop?: (reason: StopReason, error?: Error) => void;
}

/** A running publish loop; {@linkcode ProduceRun.counts} can be polled for progress. */
export class ProduceRun {
  #read = 0;
  #sent = 0;
  #acked = 0;
  #failed = 0;
  #invalid = 0;
  readonly #started = performance.now();
  #finished: number | undefined;

  /** Current counters. */
  counts(): ProduceCounts {
    return {
      read: this.#read,
      sent: this.#sent,
      acked: this.#acked,
      failed: this.#failed,
      invalid: this.#invalid,
      elapsedMs: (this.#finished ?? performance.now()) - this.#started,
    };
  }

  /**
   * Run to the end. Resolves with the summary once every record read has been acknowledged or
   * failed; rejects only for bugs or source errors (I/O), after flushing what was read.
   */
  async run(options: ProduceOptions): Promise<ProduceSummary> {
    const stop = new AbortController();
    let stoppedBy: StopReason = "end";
    let firstError: Error | undefined;
    const halt = (reason: StopReason, error?: Error) => {
      if (stop.signal.aborted) return;
      stoppedBy = reason;
      stop.abort();
      options.onStop?.(reason, error);
    };
    const onSignal = () => halt("signal");
    options.signal?.addEventListener("abort", onSignal, { once: true });
    if (options.signal?.aborted) halt("signal");
    const durationTimer = options.durationMs === undefined
      ? undefined
      : setTimeout(() => halt("duration"), options.durationMs);

    const batcher = new Batcher<OutgoingRecord>({
      lingerMs: options.lingerMs,
      batchSize: options.batchSize,
      maxInFlight: options.maxInFlight,
      send: async (batch) => {
        this.#sent += batch.length;
        const reports = await options.publisher.publish(batch);
        for (const report of reports) {
          if (report.status === "acked") {
            this.#acked++;
            options.latency.observe(report.latencyMs);
          } else {
            this.#failed++;
            if (firstError === undefined) {
              firstError = report.error;
              if (options.stopOnFailure ?? true) halt("failure", report.error);
            }
          }
          options.onDelivery?.(report);
        }
      },
    });

    let sourceError: unknown;
    let hasSourceError = false;
    try {
      const iterator = Symbol.asyncIterator in options.source
        ? options.source[Symbol.asyncIterator]()
        : options.source[Symbol.iterator]();
      // A read that never returns (a quiet stdin) must not hold up a stop: race it.
      const stopped = new Promise<"stopped">((resolve) => {
        if (stop.signal.aborted) resolve("stopped");
        stop.signal.addEventListener("abort", () => resolve("stopped"), { once: true });
      });
      let pendingRead = false;
      let stopAfterThis = false;
      try {
        while (!stop.signal.aborted) {
          if (options.pacer !== undefined && !(await options.pacer.take(stop.signal))) break;
          const reading = iterator.next();
          let next: IteratorResult<SourceItem>;
          if (reading instanceof Promise) {
            pendingRead = true;
            let first = await Promise.race([reading, stopped]);
            if (first === "stopped") {
              // Keep an item the source already produced; give up only on a read still waiting.
              first = await Promise.race([reading, Promise.resolve("stopped" as const)]);
              if (first === "stopped") break;
              stopAfterThis = true;
            }
            pendingRead = false;
            next = first;
          } else {
            next = reading;
          }
          if (next.done) break;
          this.#read++;
          const item = next.value;
          if (item.kind === "invalid") {
            this.#invalid++;
            options.onInvalid?.(item.line, item.reason);
            if (stopAfterThis) break;
            continue;
          }
          await batcher.add(item.record);
          if (stopAfterThis) break;
        }
      } finally {
        // An async generator queues return() behind a pending next(): do not wait for it then.
        const closing = iterator.return?.();
        if (pendingRead) Promise.resolve(closing).catch(() => {});
        else await closing;
      }
    } catch (error) {
      hasSourceError = true;
      sourceError = error;
    } finally {
      clearTimeout(durationTimer);
      options.signal?.removeEventListener("abort", onSignal);
      await batcher.flush();
      this.#finished = performance.now();
    }
    if (hasSourceError) throw sourceError;

    const counts = this.counts();
    const q = (p: number) => (this.#acked === 0 ? null : round(options.latency.quantile(p)));
    return {
      ...counts,
      throughput: counts.elapsedMs > 0 ? round((counts.acked * 1000) / counts.elapsedMs) : 0,
      latencyMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99) },
      stoppedBy,
      batches: batcher.batches,
      ...(firstError === undefined ? {} : { firstError }),
    };
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The producer's ack-latency histogram (core's `LatencyHistogram`, < 1 % quantile error). */
export function newAckLatency(): LatencyHistogram {
  return new LatencyHistogram({
    name: "orderflow_producer_ack_latency_ms",
    help: "Time from handing a batch to Kafka to the broker's acknowledgement (acks=all).",
  });
}
