/**
 * Reading a dead-letter topic up to the end offsets taken at start, batch by batch, with a kafkajs
 * consumer group (kafkajs has no group-less assign/fetch API): `stats` and `show` use a throwaway
 * group that never commits and is deleted after; `redrive` uses its own group and commits through
 * the batch context's `commit`. Records produced after the start are not read, so a run always ends.
 *
 * @module
 */
import type { Admin, Kafka, KafkaMessage } from "kafkajs";
import type { DeadLetter, RawHeader } from "./record.ts";

/** Where reading a partition starts and where it stops (exclusive), as taken at start. */
export interface PartitionRange {
  readonly start: bigint;
  readonly end: bigint;
}

/** What a batch handler may do in the scanning group. */
export interface BatchContext {
  /** Commits `offset` (with `metadata`) for the batch's partition. */
  readonly commit: (offset: string, metadata: string) => Promise<void>;
  /**
   * Tells the group coordinator this member is alive; call it during long work (the session
   * times out after 30 s without one, and the member's commits are then refused).
   */
  readonly heartbeat: () => Promise<void>;
}

/** Options of {@linkcode scanTopic}. */
export interface ScanOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  /** Partitions to read; one whose start is at or past its end is not read at all. */
  readonly ranges: ReadonlyMap<number, PartitionRange>;
  /** Fail when no batch arrives for this long while partitions remain (not while one is handled). */
  readonly idleTimeoutMs: number;
  /**
   * Ends the scan between batches (a batch being handled is finished first); the scan then
   * resolves with "interrupted".
   */
  readonly signal?: AbortSignal;
  /** Handles one batch (one partition, offset order); "stop" ends the scan early. */
  readonly onBatch: (
    partition: number,
    records: readonly DeadLetter[],
    context: BatchContext,
  ) => Promise<"continue" | "stop">;
}

/** Reading stopped making progress before reaching the end offsets taken at start. */
export class ReadStalledError extends Error {
  override name = "ReadStalledError";
}

/**
 * The partitions of `topic` from their first offset (or the group's committed offset, when
 * `groupId` is given and has one) to the end offset now.
 */
export async function topicRanges(
  admin: Admin,
  topic: string,
  groupId?: string,
): Promise<Map<number, PartitionRange>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const committed = new Map<number, bigint>();
  if (groupId !== undefined) {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const p of res?.partitions ?? []) committed.set(p.partition, BigInt(p.offset));
  }
  return new Map(offsets.map((p) => {
    const low = BigInt(p.low);
    const c = committed.get(p.partition) ?? -1n;
    return [p.partition, { start: c > low ? c : low, end: BigInt(p.high) }];
  }));
}

/** Records still to read in `ranges`. */
export function remaining(ranges: ReadonlyMap<number, PartitionRange>): bigint {
  let n = 0n;
  for (const { start, end } of ranges.values()) if (end > start) n += end - start;
  return n;
}

function toDeadLetter(partition: number, m: KafkaMessage): DeadLetter {
  const headers: Record<string, RawHeader> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (value !== undefined) headers[name] = value;
  }
  return {
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers,
    timestamp: Number(m.timestamp),
  };
}

/** How a scan ended: every partition read, `onBatch` said stop, or the signal fired. */
export type ScanEnd = "done" | "stopped" | "interrupted";

/**
 * Reads every partition of `ranges` from where `groupId` stands (earliest for a new group) up to
 * its end, handing batches to `onBatch`; resolves when all are read, `onBatch` says stop, or the
 * signal fires between batches. Rejects with the first error of `onBatch` (the rest of that batch
 * is left unread) or with {@linkcode ReadStalledError}.
 */
export async function scanTopic(options: ScanOptions): Promise<ScanEnd> {
  const { topic, ranges } = options;
  const pending = new Set(
    [...ranges].filter(([, r]) => r.end > r.start).map(([partition]) => partition),
  );
  if (pending.size === 0) return "done";
  if (options.signal?.aborted) return "interrupted";
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
  });
  const { promise, resolve, reject } = Promise.withResolvers<ScanEnd>();
  let finished = false;
  let busy = false;
  let lastProgress = Date.now();
  const finish = (end: ScanEnd | { error: unknown }) => {
    if (finished) return;
    finished = true;
    if (typeof end === "string") resolve(end);
    else reject(end.error);
  };
  const onAbort = () => {
    if (!busy) finish("interrupted");
  };
  options.signal?.addEventListener("abort", onAbort);
  const idle = setInterval(() => {
    if (busy || Date.now() - lastProgress < options.idleTimeoutMs) return;
    const left = [...pending].map((p) => `${p} (end ${ranges.get(p)!.end})`).join(", ");
    finish({
      error: new ReadStalledError(
        `no records for ${options.idleTimeoutMs} ms; partitions not read to the end: ${left}`,
      ),
    });
  }, 100);
  consumer.on(consumer.events.CRASH, (event) => finish({ error: event.payload.error }));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        const partition = batch.partition;
        if (finished || !pending.has(partition)) {
          consumer.pause([{ topic, partitions: [partition] }]);
          return;
        }
        const end = ranges.get(partition)!.end;
        const records = batch.messages
          .filter((m) => BigInt(m.offset) < end)
          .map((m) => toDeadLetter(partition, m));
        busy = true;
        try {
          if (records.length > 0) {
            const next = await options.onBatch(partition, records, {
              commit: (offset, metadata) =>
                consumer.commitOffsets([{ topic, partition, offset, metadata }]),
              heartbeat,
            });
            resolveOffset(records.at(-1)!.offset);
            await heartbeat();
            if (next === "stop") return finish("stopped");
          }
          if (BigInt(batch.lastOffset()) + 1n >= end) {
            pending.delete(partition);
            consumer.pause([{ topic, partitions: [partition] }]);
            if (pending.size === 0) finish("done");
          }
        } catch (error) {
          // Not rethrown: kafkajs would restart the consumer and hand the batch over again.
          finish({ error });
        } finally {
          busy = false;
          lastProgress = Date.now();
          if (options.signal?.aborted) finish("interrupted");
        }
      },
    });
    return await promise;
  } finally {
    finished = true;
    options.signal?.removeEventListener("abort", onAbort);
    clearInterval(idle);
    await consumer.disconnect();
  }
}
