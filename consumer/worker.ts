/**
 * The kafkajs shell around the handler: consumer group, per-partition in-order batches, DLQ
 * publishing, contiguous commits, sink-outage backoff with pause + heartbeats, and shutdown.
 *
 * Guarantee (DESIGN.md): an offset is committed only when every record at or below it is durable
 * in the sink or acknowledged by the DLQ topic; a failure never lets a later offset commit past it.
 *
 * @module
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from "kafkajs";
import {
  type ConsumedRecord,
  type DeadLetterOutcome,
  handleBatch,
  prepareBatch,
  type PreparedRecord,
  type RecordOutcome,
  type ScoreFn,
} from "./handler.ts";
import { DeadLetterPublisher } from "./dlq.ts";
import { OffsetTracker } from "./offsets.ts";
import type { Sink } from "./sinks/types.ts";
import { BatchedSink } from "./sinks/batched.ts";
import { ConsumerMetrics } from "./metrics.ts";
import { installFastFetchDecoder } from "./_fast_fetch_decoder.ts";

/** Capped exponential backoff with full jitter. */
export interface BackoffOptions {
  /** First delay, ms (default 100). */
  readonly initialMs?: number;
  /**
   * Cap, ms (default 2000): bounds how long after a sink returns the consumer notices (one probe
   * or retry per cap interval against a failing sink is cheap).
   */
  readonly maxMs?: number;
}

/**
 * The delay before retry `attempt` (1-based): a random value in [cap/2, cap] where
 * cap = min(maxMs, initialMs * 2^(attempt-1)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay } from "./worker.ts";
 * assert.ok(backoffDelay(1, {}, () => 1) === 100);
 * assert.ok(backoffDelay(30, {}, () => 1) === 2000);
 * assert.ok(backoffDelay(30, {}, () => 0) === 1000);
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 2000;
  const cap = Math.min(max, initial * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(cap / 2 + (cap / 2) * random());
}

/** Options for {@linkcode ConsumerWorker.start}. */
export interface ConsumerWorkerOptions {
  /** A configured kafkajs client (`createKafka` from `config/kafka.ts`). */
  readonly kafka: Kafka;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
  /**
   * Where orders go: a per-order {@linkcode Sink}, or a {@linkcode BatchedSink} (NDJSON segments;
   * offsets are committed per complete segment).
   */
  readonly sink: Sink | BatchedSink;
  readonly score: ScoreFn;
  /**
   * Where a partition without a committed offset starts (also after the committed offset fell
   * out of retention): the earliest offset when true (default), the end of the log when false.
   * kafkajs consults this only for partitions the group has no valid commit for.
   */
  readonly fromBeginning?: boolean;
  /** Records with larger values are dead-lettered (default 1 MiB). */
  readonly maxBytes?: number;
  /** Concurrent sink writes per partition batch (default 16). */
  readonly writeConcurrency?: number;
  /** Records handled (and committed) per round within a fetched batch (default 500). */
  readonly chunkSize?: number;
  /** Partitions processed concurrently (default 6). */
  readonly partitionsConcurrently?: number;
  readonly backoff?: BackoffOptions;
  /** Interval of the stderr summary line, ms (default 5000, 0 = off). */
  readonly summaryIntervalMs?: number;
  /** Log sink for lines (default `console.error`). */
  readonly log?: (line: string) => void;
  readonly now?: () => number;
  /**
   * Most bytes of one fetch response, all partitions together (default 2 MiB). Records of one
   * response stay in memory until every partition's batch of it is handled: with the chunk and
   * segment buffers this bounds the bytes in flight.
   */
  readonly fetchMaxBytes?: number;
  /** Most bytes per partition in one fetch response (default 256 KiB). */
  readonly fetchMaxBytesPerPartition?: number;
  /** kafkajs consumer session timeout, ms (default 30000). */
  readonly sessionTimeout?: number;
  /**
   * Decode fetched record batches with `_fast_fetch_decoder.ts` (default true; the same messages
   * as kafkajs' decoder, less CPU). The patch is process-wide and stays once installed.
   */
  readonly fastDecoder?: boolean;
}

/** What {@linkcode ConsumerWorker.stop} did. */
export interface StopReport {
  /** True when everything stopped within the deadline. */
  readonly clean: boolean;
  /** Records still not durable when the worker stopped (their offsets were not committed). */
  readonly abandoned: number;
  /**
   * Per partition with records not durable: the first such offset (nothing at or past it was
   * committed; the next owner of the partition reads it again).
   */
  readonly abandonedFrom: Readonly<Record<number, string>>;
}

function toRecord(partition: number, message: KafkaMessage): ConsumedRecord {
  return {
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    // kafkajs builds a fresh headers object per message and never touches it again: no copy.
    headers: message.headers ?? {},
    timestamp: message.timestamp,
  };
}

/** {@linkcode ConsumerWorker.start} found the orders or DLQ topic missing on the cluster. */
export class TopicNotFoundError extends Error {
  override name = "TopicNotFoundError";
  /** The topics that do not exist. */
  readonly topics: readonly string[];
  /** Creates the error for `topics`. */
  constructor(topics: readonly string[]) {
    super(
      `Cannot consume: ${
        topics.map((t) => `topic ${t} does not exist`).join(", ")
      } on the cluster (auto-creation is off)`,
    );
    this.topics = Object.freeze([...topics]);
  }
}

/** Thrown into a retry loop when the worker stops; never escapes eachBatch. */
class StopRequested extends Error {
  override name = "StopRequested";
}

/**
 * A running consumer-group member. Create with {@linkcode ConsumerWorker.start}, stop with
 * {@linkcode ConsumerWorker.stop}.
 */
export class ConsumerWorker {
  readonly #options: ConsumerWorkerOptions;
  readonly #consumer: Consumer;
  readonly #producer: Producer;
  readonly #admin: Admin;
  readonly #dlq: DeadLetterPublisher;
  readonly #tracker = new OffsetTracker();
  readonly #metrics: ConsumerMetrics;
  readonly #log: (line: string) => void;
  readonly #stopController = new AbortController();
  readonly #inFlight = new Map<number, number>();
  /** Batched layout: records waiting in a retry loop (DLQ or scoring), per partition. */
  readonly #retrying = new Map<number, number>();
  readonly #crashed: Promise<Error>;
  #resolveCrash: (error: Error) => void = () => {};
  #summaryTimer: ReturnType<typeof setInterval> | undefined;
  #lagBusy = false;
  #lastError: string | undefined;
  #stopped: Promise<StopReport> | undefined;
  #running: Promise<void> | undefined;
  /** The admin client is connected (lag can be fetched). */
  #adminReady = false;
  /** Per-order layout: partitions with durable offsets the background committer should commit. */
  readonly #commitDirty = new Set<number>();
  /** The background commit loop while it runs (one OffsetCommit request in flight at most). */
  #committing: Promise<void> | undefined;
  #commitOffsets: EachBatchPayload["commitOffsetsIfNecessary"] | undefined;

  private constructor(options: ConsumerWorkerOptions) {
    this.#options = options;
    if (options.fastDecoder ?? true) installFastFetchDecoder();
    this.#log = options.log ?? ((line) => console.error(line));
    this.#metrics = new ConsumerMetrics({ now: options.now ?? Date.now });
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeout ?? 30_000,
      heartbeatInterval: Math.max(1000, Math.floor((options.sessionTimeout ?? 30_000) / 10)),
      rebalanceTimeout: 60_000,
      maxWaitTimeInMs: 250,
      maxBytes: options.fetchMaxBytes ?? 2 * 1024 * 1024,
      maxBytesPerPartition: options.fetchMaxBytesPerPartition ?? 256 * 1024,
      allowAutoTopicCreation: false,
    });
    this.#producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    this.#admin = options.kafka.admin();
    this.#dlq = new DeadLetterPublisher(this.#producer, {
      topic: options.dlqTopic,
      sourceTopic: options.topic,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.#crashed = new Promise((resolve) => this.#resolveCrash = resolve);
  }

  /** Connects, joins the group and starts consuming. */
  static async start(options: ConsumerWorkerOptions): Promise<ConsumerWorker> {
    const worker = ConsumerWorker.create(options);
    await worker.run();
    return worker;
  }

  /**
   * Creates the worker without any I/O: its metrics (not joined yet) can be served while
   * {@linkcode ConsumerWorker.run} connects, so liveness is answered from the start.
   */
  static create(options: ConsumerWorkerOptions): ConsumerWorker {
    return new ConsumerWorker(options);
  }

  /** Connects, joins the group and starts consuming (what `start` does; once per worker). */
  run(): Promise<void> {
    this.#running ??= this.#start();
    return this.#running;
  }

  async #start(): Promise<void> {
    const { events } = this.#consumer;
    this.#consumer.on(events.GROUP_JOIN, (e) => {
      this.#metrics.groupJoins.inc();
      // Partitions may have moved: forget in-flight state; the new owner starts from the commit.
      for (const p of this.#tracker.partitions()) this.#tracker.reset(p);
      if (this.#options.sink instanceof BatchedSink) this.#options.sink.discardAll();
      const assigned = e.payload.memberAssignment[this.#options.topic] ?? [];
      this.#log(
        `consumer: joined group ${e.payload.groupId} as ${
          e.payload.isLeader ? "leader" : "member"
        }, partitions [${assigned.join(",")}]`,
      );
    });
    this.#consumer.on(events.CRASH, (e) => {
      this.#log(`consumer: crashed: ${e.payload.error.message} (restart: ${e.payload.restart})`);
      if (!e.payload.restart) this.#resolveCrash(e.payload.error);
    });
    // Liveness and readiness for /healthz and /readyz (consumer/http).
    const metrics = this.#metrics;
    this.#consumer.on(events.GROUP_JOIN, () => metrics.setJoined(true));
    for (const left of [events.REBALANCING, events.STOP, events.CRASH, events.DISCONNECT]) {
      this.#consumer.on(left, () => metrics.setJoined(false));
    }
    this.#consumer.on(events.FETCH_START, () => metrics.tick());
    this.#consumer.on(events.HEARTBEAT, () => metrics.tick());
    await this.#producer.connect();
    await this.#admin.connect();
    this.#adminReady = true;
    // Fail fast and by name: a missing DLQ topic would otherwise stall the first bad record's
    // partition forever, a missing orders topic ends in kafkajs' anonymous protocol error.
    const existing = new Set(await this.#admin.listTopics());
    const missing = [this.#options.topic, this.#options.dlqTopic].filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
      throw new TopicNotFoundError(missing);
    }
    await this.#consumer.connect();
    await this.#consumer.subscribe({
      topics: [this.#options.topic],
      fromBeginning: this.#options.fromBeginning ?? true,
    });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.partitionsConcurrently ?? 6,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    const interval = this.#options.summaryIntervalMs ?? 5000;
    if (interval > 0) {
      this.#summaryTimer = setInterval(() => {
        void this.#refreshLag().finally(() => this.#log(this.#metrics.summaryLine()));
      }, interval);
    }
  }

  /** Metrics of this worker (live object; read it, don't mutate it). */
  metrics(): ConsumerMetrics {
    return this.#metrics;
  }

  /** Resolves with the error when kafkajs gave up (a crash without restart). */
  get crashed(): Promise<Error> {
    return this.#crashed;
  }

  /**
   * Records fetched and not yet durable, over all partitions. With the batched layout: records
   * not yet in a written object (those of a segment still filling count once written).
   */
  inFlight(): number {
    let n = 0;
    const sink = this.#options.sink;
    if (sink instanceof BatchedSink) {
      for (const v of this.#retrying.values()) n += v;
      return n + sink.unwrittenTotal();
    }
    for (const v of this.#inFlight.values()) n += v;
    return n;
  }

  async #refreshLag(): Promise<void> {
    if (this.#lagBusy || !this.#adminReady || this.#stopController.signal.aborted) return;
    this.#lagBusy = true;
    try {
      const [ends, committed] = await Promise.all([
        this.#admin.fetchTopicOffsets(this.#options.topic),
        this.#admin.fetchOffsets({ groupId: this.#options.groupId, topics: [this.#options.topic] }),
      ]);
      const done = new Map<number, bigint>();
      for (const p of committed[0]?.partitions ?? []) {
        done.set(p.partition, BigInt(p.offset === "-1" ? "0" : p.offset));
      }
      for (const end of ends) {
        const low = BigInt(end.low);
        const committedAt = done.get(end.partition) ?? low;
        const from = committedAt > low ? committedAt : low;
        this.#metrics.setLag(end.partition, Number(BigInt(end.high) - from));
      }
    } catch (error) {
      this.#log(`consumer: cannot fetch lag: ${(error as Error).message}`);
    } finally {
      this.#lagBusy = false;
    }
  }

  /** Current lag per partition (high watermark − committed), fetched from the broker now. */
  async lag(): Promise<ReadonlyMap<number, number>> {
    await this.#refreshLag();
    return this.#metrics.lagByPartition();
  }

  async #sleep(ms: number, heartbeat: () => Promise<void>): Promise<void> {
    const signal = this.#stopController.signal;
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (signal.aborted) throw new StopRequested("stop requested");
      await heartbeat(); // throws on rebalance: let kafkajs rejoin; nothing past a failure is committed
      const slice = Math.min(500, until - Date.now());
      if (slice <= 0) break;
      await new Promise<void>((resolve) => {
        const timer: ReturnType<typeof setTimeout> = setTimeout(done, slice);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  /**
   * Runs `work` while heartbeating every second. kafkajs heartbeats only when asked, so a sink
   * write, probe or DLQ send that stalls past the session timeout would get this member evicted
   * (a rebalance, and every in-flight record processed twice). A heartbeat failure (a rebalance)
   * is rethrown once the work is over: nothing in flight is abandoned half-done.
   */
  async #heartbeating<T>(work: () => Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
    let failure: { readonly error: unknown } | undefined;
    let busy = false;
    const timer: ReturnType<typeof setInterval> = setInterval(() => {
      if (busy || failure !== undefined) return;
      busy = true;
      heartbeat().catch((error) => failure ??= { error }).finally(() => busy = false);
    }, 1000);
    let result: T;
    try {
      result = await work();
    } finally {
      clearInterval(timer);
    }
    if (failure !== undefined) throw failure.error;
    return result;
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, resolveOffset, commitOffsetsIfNecessary, pause } = payload;
    const partition = batch.partition;
    if (batch.messages.length === 0 || this.#stopController.signal.aborted) return;
    const records = batch.messages.map((m) => toRecord(partition, m));
    const first = records[0]!;
    try {
      this.#tracker.track(partition, first.offset);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      // Re-delivery (after a batch failed, e.g. a network error in a heartbeat): kafkajs fetches
      // from the last resolved offset, which with the batched layout is past records still
      // buffered in a segment. Forget the partition's state and re-read from the first record
      // not done; starting at `first` would skip those records and later commit past them.
      const from = this.#tracker.resumeOffset(partition);
      this.#tracker.reset(partition);
      if (this.#options.sink instanceof BatchedSink) this.#options.sink.discard(partition);
      if (from !== undefined && from !== first.offset) {
        this.#log(
          `consumer: partition ${partition} re-delivered from ${first.offset}; ` +
            `re-reading from ${from}`,
        );
        this.#consumer.seek({ topic: batch.topic, partition, offset: from });
        return;
      }
      this.#tracker.track(partition, first.offset);
    }
    for (const r of records.slice(1)) this.#tracker.track(partition, r.offset);
    this.#inFlight.set(partition, records.length);

    const segments = this.#options.sink instanceof BatchedSink ? this.#options.sink : undefined;
    const commit = async (): Promise<void> => {
      if (segments === undefined) {
        // Per-order: move the fetch position past the durable prefix now and commit it in the
        // background, so the next fetch does not wait for the group coordinator.
        const next = this.#tracker.commitable(partition);
        if (next === undefined) return;
        resolveOffset(String(BigInt(next) - 1n));
        this.#commitSoon(partition, commitOffsetsIfNecessary);
        return;
      }
      const offset = this.#tracker.uncommitted(partition);
      if (offset === undefined) return;
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition, offset }] }],
      });
      this.#tracker.markCommitted(partition, offset);
      this.#metrics.setCommitted(partition, offset);
      // Batched: the fetch position is resolved per chunk (records of a segment still filling
      // are handled but not committed); resolving the commit point would fetch them again.
    };

    const chunk = this.#options.chunkSize ?? 500;
    let attempt = 0;
    let resume: (() => void) | undefined;
    try {
      for (let start = 0; start < records.length; start += chunk) {
        if (this.#stopController.signal.aborted) break; // the rest stays uncommitted
        if (start > 0) await heartbeat();
        const part = records.slice(start, start + chunk);
        if (segments === undefined) {
          attempt = await this.#processChunk(
            part,
            payload,
            commit,
            attempt,
            () => resume ??= pause(),
          );
        } else {
          attempt = await this.#processSegmentedChunk(
            part,
            payload,
            segments,
            commit,
            attempt,
            () => resume ??= pause(),
          );
          resolveOffset(part.at(-1)!.offset);
        }
      }
    } catch (error) {
      if (!(error instanceof StopRequested)) throw error;
      // Stopping: whatever is not durable stays uncommitted and is re-delivered to the next owner.
    } finally {
      // Stopping: the last durable offsets are committed before kafkajs leaves the group.
      if (this.#stopController.signal.aborted) await this.#committing;
      if (resume !== undefined) {
        resume();
        this.#metrics.setPaused(partition, false);
        if (!this.#stopController.signal.aborted) {
          this.#log(`consumer: partition ${partition} resumed after ${attempt} retry round(s)`);
        }
      }
    }
  }

  /**
   * Per-order layout: commits durable offsets in the background. One OffsetCommit request is in
   * flight at a time and covers every partition with new durable offsets (the coordinator handles
   * a connection's requests one by one, so six concurrent single-partition commits took 6x as
   * long). Each partition's committable offset only grows, so commits stay in order. A failed
   * commit is logged and retried with backoff; its offsets stay uncommitted until then (at worst
   * re-delivered, never skipped).
   */
  #commitSoon(
    partition: number,
    commitOffsets: EachBatchPayload["commitOffsetsIfNecessary"],
  ): void {
    this.#commitDirty.add(partition);
    this.#commitOffsets = commitOffsets;
    this.#committing ??= this.#commitLoop().finally(() => this.#committing = undefined);
  }

  async #commitLoop(): Promise<void> {
    let attempt = 0;
    while (this.#commitDirty.size > 0) {
      const partitions: { partition: number; offset: string }[] = [];
      for (const partition of this.#commitDirty) {
        const offset = this.#tracker.uncommitted(partition);
        if (offset !== undefined) partitions.push({ partition, offset });
      }
      this.#commitDirty.clear();
      if (partitions.length === 0) return;
      try {
        await this.#commitOffsets!({ topics: [{ topic: this.#options.topic, partitions }] });
      } catch (error) {
        for (const { partition } of partitions) this.#commitDirty.add(partition);
        attempt++;
        this.#log(
          `consumer: cannot commit offsets of partition(s) ${
            partitions.map((p) => p.partition).join(",")
          }: ${(error as Error).message}; ${
            this.#stopController.signal.aborted ? "stopping: left uncommitted" : "retrying"
          }`,
        );
        if (this.#stopController.signal.aborted) return;
        await new Promise<void>((resolve) => {
          const signal = this.#stopController.signal;
          const timer: ReturnType<typeof setTimeout> = setTimeout(
            done,
            backoffDelay(attempt, this.#options.backoff),
          );
          function done(): void {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done, { once: true });
        });
        continue;
      }
      attempt = 0;
      const owned = new Set(this.#tracker.partitions());
      for (const { partition, offset } of partitions) {
        if (!owned.has(partition)) continue; // revoked meanwhile (rebalance reset its state)
        this.#tracker.markCommitted(partition, offset);
        this.#metrics.setCommitted(partition, offset);
      }
    }
  }

  /** Handles one chunk until every record is done (retrying with backoff); returns attempts. */
  async #processChunk(
    records: readonly ConsumedRecord[],
    payload: EachBatchPayload,
    commit: () => Promise<void>,
    attemptsSoFar: number,
    pause: () => void,
  ): Promise<number> {
    const { heartbeat } = payload;
    const partition = payload.batch.partition;
    let pending: readonly ConsumedRecord[] = records;
    let attempt = attemptsSoFar;
    let paused = false;
    while (pending.length > 0) {
      const started = performance.now();
      const outcomes = await this.#heartbeating(() =>
        handleBatch(pending, {
          score: this.#options.score,
          sink: this.#options.sink as Sink,
          now: this.#options.now ?? Date.now,
          maxBytes: this.#options.maxBytes ?? 1024 * 1024,
          concurrency: this.#options.writeConcurrency ?? 16,
        }), heartbeat);
      const failed = await this.#heartbeating(() => this.#settle(outcomes), heartbeat);
      this.#metrics.batchSeconds.observe((performance.now() - started) / 1000);
      this.#inFlight.set(partition, this.#tracker.inFlight(partition));
      await commit();
      if (failed.length === 0) break;
      pending = failed;
      attempt++;
      this.#metrics.retries.inc(failed.length);
      if (!paused) {
        paused = true;
        pause(); // stop fetching this partition while the sink is out
        this.#metrics.setPaused(partition, true);
        this.#log(
          `consumer: partition ${partition} paused: ${failed.length} record(s) failed from offset ${
            failed[0]!.offset
          } (${this.#lastError ?? "DLQ unavailable"}); retrying with backoff`,
        );
      }
      // Wait, then probe the sink before sending the whole batch again.
      attempt = await this.#untilSinkAnswers(attempt, () => this.#options.sink.probe(), heartbeat);
    }
    return attempt;
  }

  /**
   * Batched layout: prepares a chunk, dead-letters bad records, appends the rest to their
   * segments, writes the segments that are complete and marks their records done. Retries (with
   * pause and backoff) until the chunk is appended and every complete segment is written.
   */
  async #processSegmentedChunk(
    records: readonly ConsumedRecord[],
    payload: EachBatchPayload,
    segments: BatchedSink,
    commit: () => Promise<void>,
    attemptsSoFar: number,
    pause: () => void,
  ): Promise<number> {
    const { heartbeat } = payload;
    const partition = payload.batch.partition;
    let pending: readonly ConsumedRecord[] = records;
    let attempt = attemptsSoFar;
    let paused = false;
    for (;;) {
      const started = performance.now();
      let failed: ConsumedRecord[] = [];
      if (pending.length > 0) {
        const prepared = await this.#heartbeating(() =>
          prepareBatch(pending, {
            score: this.#options.score,
            now: this.#options.now ?? Date.now,
            maxBytes: this.#options.maxBytes ?? 1024 * 1024,
          }), heartbeat);
        failed = await this.#heartbeating(
          () => this.#settlePrepared(prepared, segments),
          heartbeat,
        );
      }
      this.#retrying.set(partition, failed.length);
      let sinkError: unknown;
      try {
        const flushed = await this.#heartbeating(() => segments.flushSealed(partition), heartbeat);
        for (const offset of flushed) {
          this.#tracker.markDone(partition, offset);
        }
      } catch (error) {
        if (error instanceof RangeError && !this.#tracker.partitions().includes(partition)) {
          return attempt; // the partition was revoked meanwhile; its records are re-read
        }
        sinkError = error;
        this.#metrics.recordFailure("sink");
        this.#lastError = `sink: ${(error as Error).message}`;
      }
      this.#metrics.batchSeconds.observe((performance.now() - started) / 1000);
      await commit();
      if (failed.length === 0 && sinkError === undefined) break;
      pending = failed;
      attempt++;
      this.#metrics.retries.inc(Math.max(1, failed.length));
      if (!paused) {
        paused = true;
        pause();
        this.#metrics.setPaused(partition, true);
        this.#log(
          `consumer: partition ${partition} paused: ${
            failed.length > 0
              ? `${failed.length} record(s) failed from offset ${failed[0]!.offset}`
              : "a segment write failed"
          } (${this.#lastError ?? "DLQ unavailable"}); retrying with backoff`,
        );
      }
      attempt = await this.#untilSinkAnswers(attempt, () => segments.probe(), heartbeat);
    }
    this.#retrying.set(partition, 0);
    return attempt;
  }

  /**
   * Backs off, then probes the sink, until a probe succeeds (heartbeating throughout); every
   * failed probe is one more attempt. Returns the attempt count.
   */
  async #untilSinkAnswers(
    attemptsSoFar: number,
    probe: () => Promise<void>,
    heartbeat: () => Promise<void>,
  ): Promise<number> {
    let attempt = attemptsSoFar;
    for (;;) {
      await this.#sleep(backoffDelay(attempt, this.#options.backoff), heartbeat);
      try {
        await this.#heartbeating(probe, heartbeat);
        return attempt;
      } catch (error) {
        attempt++;
        this.#metrics.probeFailures.inc();
        if (attempt % 10 === 0) {
          this.#log(`consumer: sink still unavailable: ${(error as Error).message}`);
        }
      }
    }
  }

  /** Publishes dead letters; false (counted and logged) when the DLQ did not acknowledge them. */
  async #publishDeadLetters(dead: readonly DeadLetterOutcome[]): Promise<boolean> {
    if (dead.length === 0) return true;
    try {
      await this.#dlq.publish(dead);
      return true;
    } catch (error) {
      this.#metrics.dlqFailures.inc();
      this.#log(
        `consumer: cannot publish ${dead.length} record(s) to the DLQ: ${(error as Error).message}`,
      );
      return false;
    }
  }

  /** Batched layout: dead-letters and appends; returns the records to retry (DLQ, scoring). */
  async #settlePrepared(
    prepared: readonly PreparedRecord[],
    segments: BatchedSink,
  ): Promise<ConsumedRecord[]> {
    const failed: ConsumedRecord[] = [];
    this.#lastError = undefined;
    const dead = prepared.filter((o) => o.kind === "dead-letter");
    const dlqOk = await this.#publishDeadLetters(dead);
    const now = this.#options.now ?? Date.now;
    for (const o of prepared) {
      const { partition, offset } = o.record;
      if (o.kind === "prepared") {
        segments.append(partition, {
          offset,
          dt: o.dt,
          body: o.body,
          onWritten: () =>
            this.#metrics.recordStored({
              ...o.stored,
              latencyMs: o.producedAt === undefined ? undefined : now() - o.producedAt,
            }),
        });
      } else {
        this.#settleUnstored(o, dlqOk, failed);
      }
    }
    return failed;
  }

  /** A record not stored: done once the DLQ acknowledged it, else failed (to retry). */
  #settleUnstored(
    o: Exclude<RecordOutcome | PreparedRecord, { kind: "stored" | "prepared" }>,
    dlqOk: boolean,
    failed: ConsumedRecord[],
  ): void {
    const { partition, offset } = o.record;
    if (o.kind === "dead-letter" && dlqOk) {
      this.#tracker.markDone(partition, offset);
      this.#metrics.recordDeadLetter(o.reason);
      return;
    }
    this.#tracker.markFailed(partition, offset);
    failed.push(o.record);
    if (o.kind === "retryable-failure") {
      this.#metrics.recordFailure(o.stage);
      this.#lastError ??= `${o.stage}: ${(o.error as Error)?.message ?? String(o.error)}`;
    }
  }

  /** Publishes dead letters, marks durable records done / failed ones failed; returns failures. */
  async #settle(outcomes: readonly RecordOutcome[]): Promise<ConsumedRecord[]> {
    const failed: ConsumedRecord[] = [];
    this.#lastError = undefined;
    const dead = outcomes.filter((o) => o.kind === "dead-letter");
    const dlqOk = await this.#publishDeadLetters(dead);
    for (const o of outcomes) {
      const { partition, offset } = o.record;
      if (o.kind === "stored") {
        this.#tracker.markDone(partition, offset);
        this.#metrics.recordStored(o);
      } else {
        this.#settleUnstored(o, dlqOk, failed);
      }
    }
    return failed;
  }

  /**
   * Stops within `deadlineMs`: stops fetching, lets the in-flight batch finish its current
   * attempt (abandoning retries), commits only what is durable, leaves the group, disconnects.
   */
  stop(deadlineMs = 10_000): Promise<StopReport> {
    this.#stopped ??= this.#stop(deadlineMs);
    return this.#stopped;
  }

  async #stop(deadlineMs: number): Promise<StopReport> {
    this.#stopController.abort();
    if (this.#summaryTimer !== undefined) clearInterval(this.#summaryTimer);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), deadlineMs);
    });
    const work = (async () => {
      await this.#committing; // durable offsets of batches already handled
      await this.#consumer.disconnect(); // waits for in-flight batches, leaves the group
      await Promise.all([this.#producer.disconnect(), this.#admin.disconnect()]);
      return "done" as const;
    })();
    const result = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (result === "timeout") {
      work.catch((error) => this.#log(`consumer: late disconnect failed: ${error}`));
    }
    let abandoned = 0;
    const abandonedFrom: Record<number, string> = {};
    for (const p of this.#tracker.partitions()) {
      const n = this.#tracker.inFlight(p);
      if (n === 0) continue;
      abandoned += n;
      const from = this.#tracker.resumeOffset(p);
      if (from !== undefined) abandonedFrom[p] = from;
    }
    return Object.freeze({
      clean: result === "done",
      abandoned,
      abandonedFrom: Object.freeze(abandonedFrom),
    });
  }
}
