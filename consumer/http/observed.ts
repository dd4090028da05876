/**
 * What the HTTP endpoints read from a running consumer: a narrow view, so the handler can be
 * tested with a plain object and a real {@linkcode ConsumerMetrics}.
 *
 * @module
 */
import type { ConsumerMetrics } from "../metrics.ts";
import type { ScorerStatus, ScoringMetrics } from "../../plugins_host/types.ts";

/** The scoring host as the endpoints see it (`ScoringHost` satisfies it). */
export interface ObservedScoring {
  status(): readonly ScorerStatus[];
  metrics(): ScoringMetrics;
}

/** A running consumer as the endpoints see it. */
export interface ObservedConsumer {
  /** The group member's metrics (`GroupMember.metrics()`). */
  readonly metrics: ConsumerMetrics;
  /** Records fetched and not yet durable (`GroupMember.inFlight()`). */
  inFlight(): number;
  /** Refreshes per-partition lag from the broker (`GroupMember.lag()`); optional. */
  refreshLag?(): Promise<unknown>;
  /** Resolves when the sink accepts writes, rejects with the reason (`Sink.probe()`). */
  probeSink(): Promise<void>;
  /** The scoring host, when there is one. */
  readonly scoring?: ObservedScoring;
  /** True once shutdown began (liveness and readiness then fail). */
  stopping?(): boolean;
  /**
   * What start-up still waits for (e.g. "scorer warm-up, first fetch"), or undefined once the
   * consumer can store at full speed; readiness fails until then.
   */
  starting?(): string | undefined;
}
