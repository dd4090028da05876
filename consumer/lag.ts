/**
 * Consumer lag per partition: the high watermark minus the group's committed offset (or the log
 * start, when nothing is committed or the commit fell out of retention), fetched through the
 * admin client into the metrics. One refresh at a time; a failed one is logged and skipped.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import type { ConsumerMetrics } from "./metrics.ts";

/** Refreshes the lag of one group on one topic into {@linkcode ConsumerMetrics}. */
export class LagRefresher {
  readonly #admin: Admin;
  readonly #group: { readonly groupId: string; readonly topic: string };
  readonly #metrics: ConsumerMetrics;
  readonly #log: (line: string) => void;
  #busy = false;
  /** The admin client is connected (lag can be fetched); set by the member. */
  connected = false;

  /** `admin` is connected by the member, which then sets {@linkcode LagRefresher.connected}. */
  constructor(
    admin: Admin,
    group: { readonly groupId: string; readonly topic: string },
    metrics: ConsumerMetrics,
    log: (line: string) => void,
  ) {
    this.#admin = admin;
    this.#group = group;
    this.#metrics = metrics;
    this.#log = log;
  }

  /** Fetches end and committed offsets and records the lag; a no-op while one is running. */
  async refresh(stop: AbortSignal): Promise<void> {
    if (this.#busy || !this.connected || stop.aborted) return;
    this.#busy = true;
    const { groupId, topic } = this.#group;
    try {
      const [ends, committed] = await Promise.all([
        this.#admin.fetchTopicOffsets(topic),
        this.#admin.fetchOffsets({ groupId, topics: [topic] }),
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
      this.#busy = false;
    }
  }
}
