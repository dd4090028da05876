/**
 * Liveness and readiness of the group member, from kafkajs' instrumentation events: whether it is
 * joined (for `/readyz`), that its loop is alive (for `/healthz`), and when the first fetch after
 * its first group join was answered (the member is then ready to take records, see
 * {@linkcode FirstFetch}).
 *
 * @module
 */
import type { Consumer } from "kafkajs";
import type { ConsumerMetrics } from "./metrics.ts";

/**
 * The member's first fetch after its first group join, once answered: the fetch positions are
 * resolved (with `fromBeginning: false`, the end offsets: a record produced after this point
 * is not skipped), and from then on a record produced to an assigned partition is fetched at
 * once (each fetch is a long poll the broker answers as soon as data arrives). A member assigned
 * no partitions fetches nothing but still reaches this point.
 */
export interface FirstFetch {
  /** Partitions of the orders topic assigned at that join (may be empty). */
  readonly partitions: readonly number[];
  /** When the group join completed, ms since process start (`performance.now()`). */
  readonly joinedAt: number;
  /** When the first fetch after it was issued, ms since process start. */
  readonly fetchAt: number;
  /** When that fetch was answered, ms since process start. */
  readonly answeredAt: number;
}

/** Follows a consumer's group membership and fetches; see the module doc. */
export class MemberReadiness {
  readonly #topic: string;
  readonly #metrics: ConsumerMetrics;
  /** The last group join (partitions, when, its first fetch), until `#firstFetch` resolves. */
  #join:
    | { readonly partitions: readonly number[]; readonly at: number; fetchAt?: number }
    | undefined;
  readonly #firstFetch = Promise.withResolvers<FirstFetch>();

  /** `topic`: the orders topic (its assigned partitions are reported). */
  constructor(topic: string, metrics: ConsumerMetrics) {
    this.#topic = topic;
    this.#metrics = metrics;
  }

  /** Resolves once the first fetch after the first group join is answered. */
  get firstFetch(): Promise<FirstFetch> {
    return this.#firstFetch.promise;
  }

  /** Listens to `consumer`'s events (once, before it connects). */
  watch(consumer: Consumer): void {
    const { events } = consumer;
    const metrics = this.#metrics;
    consumer.on(events.GROUP_JOIN, () => metrics.setJoined(true));
    for (const left of [events.REBALANCING, events.STOP, events.CRASH, events.DISCONNECT]) {
      consumer.on(left, () => metrics.setJoined(false));
    }
    consumer.on(events.FETCH_START, () => metrics.tick());
    // Readiness: the first fetch after a join, once answered (kafkajs emits FETCH_START before
    // it resolves the fetch positions and FETCH after the broker answered).
    consumer.on(events.GROUP_JOIN, (e) => {
      this.#join = {
        partitions: Object.freeze([...e.payload.memberAssignment[this.#topic] ?? []]),
        at: performance.now(),
      };
    });
    consumer.on(events.FETCH_START, () => {
      if (this.#join !== undefined) this.#join.fetchAt ??= performance.now();
    });
    consumer.on(events.FETCH, () => {
      const join = this.#join;
      if (join?.fetchAt === undefined) return;
      this.#join = undefined;
      this.#firstFetch.resolve(
        Object.freeze({
          partitions: join.partitions,
          joinedAt: join.at,
          fetchAt: join.fetchAt,
          answeredAt: performance.now(),
        }),
      );
    });
    consumer.on(events.HEARTBEAT, () => metrics.tick());
  }
}
