/**
 * `deno task dlq redrive`: republish dead letters to `ORDERS_TOPIC`, at least once.
 *
 * Order of events per batch, which makes it at-least-once and never at-most-once: plan the batch
 * on a copy of the partition's ledger → send the records (idempotent producer, acks=all) → wait
 * for every acknowledgement → commit the copy's offset and metadata in the redrive group → adopt
 * the copy. A crash before the commit resends that batch on the next run (the consumer's
 * order-keyed writes make the duplicate harmless); nothing is committed that was not acknowledged.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Admin, type Kafka, Partitioners, type Producer } from "kafkajs";
import { PartitionLedger } from "./ledger.ts";
import { type Disposition, DISPOSITIONS, planBatch } from "./plan.ts";
import { type DeadLetter, type RecordFilter, redriveHeaders } from "./record.ts";
import { remaining, scanTopic, topicRanges } from "./reader.ts";
import { safeText } from "./safe_text.ts";

/** Options of {@linkcode redrive}. */
export interface RedriveOptions {
  readonly kafka: Kafka;
  /** Connected admin client. */
  readonly admin: Admin;
  readonly dlqTopic: string;
  readonly ordersTopic: string;
  /** The redrive consumer group. */
  readonly groupId: string;
  /** Group id for a dry run's reading (throwaway; the caller deletes it). */
  readonly dryRunGroupId: string;
  readonly filter: RecordFilter;
  readonly dryRun: boolean;
  /** Reading idle limit, and the limit on one send's acknowledgement. */
  readonly timeoutMs: number;
  /** Stops between batches: what was acknowledged is committed, the rest stays for next time. */
  readonly signal?: AbortSignal;
  /** Called after each batch with the counts so far (for progress lines). */
  readonly onProgress?: (counts: RedriveCounts) => void;
}

/** Records per disposition. */
export type DispositionCounts = Record<Disposition, number>;

/** Counts while running. */
export interface RedriveCounts {
  /** Records read so far. */
  readonly read: number;
  /** Records to read, as known at start. */
  readonly total: number;
  readonly totals: Readonly<DispositionCounts>;
}

/** What a redrive did (also its `--json` shape). */
export interface RedriveReport {
  readonly from: string;
  readonly to: string;
  readonly group: string;
  readonly dry_run: boolean;
  /** Stopped by a signal before the end offsets taken at start. */
  readonly interrupted: boolean;
  readonly read: number;
  /** Reason → disposition → count ("sent" means "would send" in a dry run). */
  readonly by_reason: Readonly<Record<string, Readonly<DispositionCounts>>>;
  readonly totals: Readonly<DispositionCounts>;
}

/** Another process is a member of the redrive group: two redrives at once would both send. */
export class RedriveBusyError extends Error {
  override name = "RedriveBusyError";
}

/** A send was not acknowledged within the timeout. */
export class SendTimeoutError extends Error {
  override name = "SendTimeoutError";
}

const SEND_CHUNK = 500;

function zero(): DispositionCounts {
  return Object.fromEntries(DISPOSITIONS.map((d) => [d, 0])) as DispositionCounts;
}

/** The producer of redriven copies. */
export function redriveProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    // kafkajs warns that limiting an idempotent producer's retries "may invalidate EoS
    // guarantees": a retry cap can give up on a batch the broker half-took. Retry without limit
    // and bound the wait with our own timeout instead (a timed-out batch is not committed).
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5_000 },
  });
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SendTimeoutError(`${what} not acknowledged within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a redrive (see the module doc). Throws {@linkcode RedriveBusyError} when the group has
 * members, {@linkcode SendTimeoutError}, `LedgerError` for foreign commit metadata, or kafkajs
 * errors; what was acknowledged and committed before stays committed.
 */
export async function redrive(o: RedriveOptions): Promise<RedriveReport> {
  const [group] = (await o.admin.describeGroups([o.groupId])).groups;
  if (group !== undefined && group.members.length > 0) {
    throw new RedriveBusyError(
      `group "${o.groupId}" has ${group.members.length} active member(s) (state ${group.state})`,
    );
  }
  const ledgers = new Map<number, PartitionLedger>();
  const [committed] = await o.admin.fetchOffsets({ groupId: o.groupId, topics: [o.dlqTopic] });
  for (const p of committed?.partitions ?? []) {
    ledgers.set(p.partition, PartitionLedger.fromCommit(p.offset, p.metadata));
  }
  // A dry run reads with a throwaway group, from the beginning: records below the committed offset
  // show up as already sent.
  const ranges = await topicRanges(o.admin, o.dlqTopic, o.dryRun ? undefined : o.groupId);
  const byReason = new Map<string, DispositionCounts>();
  const totals = zero();
  const full = new Set<number>();
  let read = 0;
  const total = Number(remaining(ranges));

  let producer: Producer | undefined;
  if (!o.dryRun) {
    producer = redriveProducer(o.kafka);
    await producer.connect();
  }
  let end;
  try {
    end = await scanTopic({
      kafka: o.kafka,
      topic: o.dlqTopic,
      groupId: o.dryRun ? o.dryRunGroupId : o.groupId,
      ranges,
      idleTimeoutMs: o.timeoutMs,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      onBatch: async (partition, records, { commit, heartbeat }) => {
        const ledger = ledgers.get(partition) ?? PartitionLedger.fromCommit("-1", null);
        const plan = planBatch(ledger, records, o.filter, full.has(partition));
        if (producer !== undefined) {
          await send(producer, o.ordersTopic, plan.toSend, o.timeoutMs, heartbeat);
          const next = plan.ledger.next;
          if (
            next !== undefined &&
            (next !== ledger.next || plan.ledger.metadata() !== ledger.metadata())
          ) {
            await commit(next.toString(), plan.ledger.metadata());
          }
        }
        ledgers.set(partition, plan.ledger);
        if (plan.full) full.add(partition);
        for (const { reason, disposition } of plan.outcomes) {
          const counts = byReason.get(reason) ?? zero();
          counts[disposition]++;
          byReason.set(reason, counts);
          totals[disposition]++;
        }
        read += records.length;
        o.onProgress?.({ read, total, totals });
        return "continue";
      },
    });
  } finally {
    await producer?.disconnect();
  }
  return {
    from: o.dlqTopic,
    to: o.ordersTopic,
    group: o.groupId,
    dry_run: o.dryRun,
    interrupted: end === "interrupted",
    read,
    by_reason: Object.fromEntries([...byReason].sort(([a], [b]) => (a < b ? -1 : 1))),
    totals,
  };
}

async function send(
  producer: Producer,
  topic: string,
  records: readonly DeadLetter[],
  timeoutMs: number,
  heartbeat: () => Promise<void>,
): Promise<void> {
  for (let i = 0; i < records.length; i += SEND_CHUNK) {
    // A batch can hold thousands of records: stay in the group while sending them.
    if (i > 0) await heartbeat();
    const chunk = records.slice(i, i + SEND_CHUNK);
    await withTimeout(
      producer.send({
        topic,
        acks: -1,
        messages: chunk.map((r) => ({
          key: r.key === null ? null : Buffer.from(r.key),
          value: r.value === null ? null : Buffer.from(r.value),
          headers: redriveHeaders(r),
        })),
      }),
      timeoutMs,
      `${chunk.length} records sent to "${topic}"`,
    );
  }
}

/** The report as text: per reason, what was sent and what was not, and why. */
export function formatRedrive(r: RedriveReport): string {
  const verb = r.dry_run ? "would send" : "sent";
  const cols = DISPOSITIONS.map((d) => d === "sent" ? verb : d.replace("_", " "));
  const lines = [
    `${r.dry_run ? "dry run: " : ""}redrive "${r.from}" -> "${r.to}" (group "${r.group}"): ` +
    `read ${r.read}, ${verb} ${r.totals.sent}` +
    (r.interrupted ? " (interrupted: the rest stays for the next run)" : ""),
  ];
  const reasons = Object.entries(r.by_reason);
  if (reasons.length > 0) {
    lines.push(`  ${"reason".padEnd(20)}${cols.map((c) => c.padStart(14)).join("")}`);
    for (const [reason, counts] of reasons) {
      lines.push(
        `  ${safeText(reason, 40).padEnd(20)}${
          DISPOSITIONS.map((d) => String(counts[d]).padStart(14)).join("")
        }`,
      );
    }
  }
  if (r.totals.held > 0) {
    lines.push(`  held: left out by the filters; still in the topic for a later redrive`);
  }
  if (r.totals.truncated > 0) {
    lines.push(
      `  truncated: cut copies, never redriven; the whole record is in the source topic ` +
        `(dlq.source.partition/offset) until retention removes it`,
    );
  }
  return `${lines.join("\n")}\n`;
}
