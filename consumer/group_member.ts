/**
 * The consumer-group member: the kafkajs shell that joins the group, fetches per-partition
 * in-order batches, tracks what was fetched, pauses a partition through an outage, and stops
 * within a deadline. What happens between a fetched chunk and a commit belongs to the storage
 * layout (`layouts/per_order.ts` or `layouts/batched.ts`, behind `layouts/types.ts`); the member
 * knows neither.
 *
 * Guarantee: an offset is committed only when every record at or below it is durable in the sink
 * or acknowledged by the DLQ topic; a failure never lets a later offset commit past it.
 *
 * @module
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from "kafkajs";
import type { ConsumedRecord, ScoreFn } from "./handler.ts";
import { DeadLetterPublisher, DLQ_PRODUCER_CONFIG } from "./dlq.ts";
import { OffsetTracker } from "./offsets.ts";
import type { Sink } from "./sinks/types.ts";
import { BatchedSink } from "./sinks/batched.ts";
import { ConsumerMetrics } from "./metrics.ts";
import { installKafkajsPatches } from "../kafkajs_patches/mod.ts";
import { type BackoffOptions, settleWithin } from "../core/async.ts";
import { StopRequested } from "./retry.ts";
import type { Layout, MemberContext } from "./layouts/types.ts";
import { PerOrderLayout } from "./layouts/per_order.ts";
import { BatchedLayout } from "./layouts/batched.ts";
import { type FirstFetch, MemberReadiness } from "./member_readiness.ts";
import { LagRefresher } from "./lag.ts";

export type { FirstFetch } from "./member_readiness.ts";

/** Options for {@linkcode GroupMember.start}. */
export interface GroupMemberOptions {
  /** A configured kafkajs client (`createKafka` from `clients/kafka.ts`). */
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
}

/** What {@linkcode GroupMember.stop} did. */
export interface StopReport {
  /** True when everything stopped within the deadline. */
  readonly clean: boolean;
  /** Records still not durable when the member stopped (their offsets were not committed). */
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

/** {@linkcode GroupMember.start} found the orders or DLQ topic missing on the cluster. */
export class MissingTopicsError extends Error {
  override name = "MissingTopicsError";
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

/**
 * A running consumer-group member. Create with {@linkcode GroupMember.start}, stop with
 * {@linkcode GroupMember.stop}.
 */
export class GroupMember {
  readonly #options: GroupMemberOptions;
  readonly #consumer: Consumer;
  readonly #producer: Producer;
  readonly #admin: Admin;
  readonly #dlq: DeadLetterPublisher;
  readonly #tracker = new OffsetTracker();
  readonly #metrics: ConsumerMetrics;
  readonly #log: (line: string) => void;
  readonly #stopController = new AbortController();
  /** How records become durable and which offsets are committed: per-order or batched. */
  readonly #layout: Layout;
  readonly #crashed: Promise<Error>;
  #resolveCrash: (error: Error) => void = () => {};
  readonly #readiness: MemberReadiness;
  readonly #lag: LagRefresher;
  #summaryTimer: ReturnType<typeof setInterval> | undefined;
  #stopped: Promise<StopReport> | undefined;
  #running: Promise<void> | undefined;

  private constructor(options: GroupMemberOptions) {
    this.#options = options;
    installKafkajsPatches(); // idempotent; main.ts installs and logs it at start-up
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
    this.#producer = options.kafka.producer({ ...DLQ_PRODUCER_CONFIG });
    this.#admin = options.kafka.admin();
    this.#readiness = new MemberReadiness(options.topic, this.#metrics);
    this.#lag = new LagRefresher(this.#admin, options, this.#metrics, this.#log);
    this.#dlq = new DeadLetterPublisher(this.#producer, {
      topic: options.dlqTopic,
      sourceTopic: options.topic,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.#crashed = new Promise((resolve) => this.#resolveCrash = resolve);
    const ctx: MemberContext = {
      topic: options.topic,
      score: options.score,
      now: options.now ?? Date.now,
      maxBytes: options.maxBytes ?? 1024 * 1024,
      backoff: options.backoff,
      tracker: this.#tracker,
      metrics: this.#metrics,
      dlq: this.#dlq,
      log: this.#log,
      stop: this.#stopController.signal,
    };
    this.#layout = options.sink instanceof BatchedSink
      ? new BatchedLayout(ctx, options.sink)
      : new PerOrderLayout(ctx, options.sink, options.writeConcurrency ?? 16);
  }

  /** Connects, joins the group and starts consuming. */
  static async start(options: GroupMemberOptions): Promise<GroupMember> {
    const member = GroupMember.create(options);
    await member.run();
    return member;
  }

  /**
   * Creates the member without any I/O: its metrics (not joined yet) can be served while
   * {@linkcode GroupMember.run} connects, so liveness is answered from the start.
   */
  static create(options: GroupMemberOptions): GroupMember {
    return new GroupMember(options);
  }

  /** Connects, joins the group and starts consuming (what `start` does; once per member). */
  run(): Promise<void> {
    this.#running ??= this.#start();
    return this.#running;
  }

  async #start(): Promise<void> {
    const { events } = this.#consumer;
    this.#consumer.on(events.GROUP_JOIN, (e) => {
      this.#metrics.groupJoins.inc();
      // Partitions may have moved: forget in-flight state; the new owner starts from the commit.
      for (const p of this.#tracker.partitions()) {
        this.#tracker.reset(p);
        this.#layout.discard(p);
      }
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
    this.#readiness.watch(this.#consumer);
    await this.#producer.connect();
    await this.#admin.connect();
    this.#lag.connected = true;
    // Fail fast and by name: a missing DLQ topic would otherwise stall the first bad record's
    // partition forever, a missing orders topic ends in kafkajs' anonymous protocol error.
    const existing = new Set(await this.#admin.listTopics());
    const missing = [this.#options.topic, this.#options.dlqTopic].filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
      throw new MissingTopicsError(missing);
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

  /**
   * Resolves once the first fetch after the first group join is answered (see
   * {@linkcode FirstFetch}); later joins do not change it. Never resolves when the member fails
   * to start.
   */
  firstFetch(): Promise<FirstFetch> {
    return this.#readiness.firstFetch;
  }

  /** Metrics of this member (live object; read it, don't mutate it). */
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
    return this.#layout.inFlight();
  }

  #refreshLag(): Promise<void> {
    return this.#lag.refresh(this.#stopController.signal);
  }

  /** Current lag per partition (high watermark − committed), fetched from the broker now. */
  async lag(): Promise<ReadonlyMap<number, number>> {
    await this.#refreshLag();
    return this.#metrics.lagByPartition();
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
      this.#layout.discard(partition);
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

    let resume: (() => void) | undefined;
    const context = {
      partition,
      heartbeat,
      resolveOffset,
      commitOffsets: commitOffsetsIfNecessary,
      pause: () => void (resume ??= pause()),
    };
    const chunk = this.#options.chunkSize ?? 500;
    let attempt = 0;
    try {
      for (let start = 0; start < records.length; start += chunk) {
        if (this.#stopController.signal.aborted) break; // the rest stays uncommitted
        if (start > 0) await heartbeat();
        attempt = await this.#layout.processChunk(
          records.slice(start, start + chunk),
          context,
          attempt,
        );
      }
    } catch (error) {
      if (!(error instanceof StopRequested)) throw error;
      // Stopping: whatever is not durable stays uncommitted and is re-delivered to the next owner.
    } finally {
      // Stopping: the last durable offsets are committed before kafkajs leaves the group.
      if (this.#stopController.signal.aborted) await this.#layout.idle();
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
    const work = (async () => {
      await this.#layout.idle(); // durable offsets of batches already handled
      await this.#consumer.disconnect(); // waits for in-flight batches, leaves the group
      await Promise.all([this.#producer.disconnect(), this.#admin.disconnect()]);
      return "done" as const;
    })();
    const result = await settleWithin(work, deadlineMs, "timeout" as const);
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
