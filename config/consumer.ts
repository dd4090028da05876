/**
 * Consumer group settings: the group, its session timeout and the fetch limits. Import the
 * types from `settings.ts`.
 *
 * @module
 */

import { DEFAULTS } from "./defaults.ts";
import type { Get } from "./_common.ts";

/**
 * The consumer group member. The fetch limits bound the bytes the consumer holds in flight: one
 * fetch response at a time, each record of it kept until its batch is handled. A record batch
 * larger than a limit still comes (the broker sends at least one batch), so no limit stalls a
 * partition.
 */
export interface ConsumerSettings {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  /** Most bytes one fetch response may carry, over all partitions (Kafka's `fetch.max.bytes`). */
  readonly fetchMaxBytes: number;
  /** Most bytes per partition in one fetch response (Kafka's `max.partition.fetch.bytes`). */
  readonly fetchMaxBytesPerPartition: number;
}

/** The consumer settings; invalid values fall back to the defaults, with the reasons in `problems`. */
export function loadConsumer(get: Get, problems: string[]): ConsumerSettings {
  const groupId = get("CONSUMER_GROUP") ?? DEFAULTS.CONSUMER_GROUP;
  const sessionTimeoutMs = parseSessionTimeout(get("CONSUMER_SESSION_TIMEOUT_MS"), problems);
  const fetchMaxBytes = parseBytes(
    "CONSUMER_FETCH_MAX_BYTES",
    get("CONSUMER_FETCH_MAX_BYTES"),
    DEFAULTS.CONSUMER_FETCH_MAX_BYTES,
    problems,
  );
  const fetchMaxBytesPerPartition = parseBytes(
    "CONSUMER_FETCH_PARTITION_BYTES",
    get("CONSUMER_FETCH_PARTITION_BYTES"),
    DEFAULTS.CONSUMER_FETCH_PARTITION_BYTES,
    problems,
  );
  if (fetchMaxBytesPerPartition > fetchMaxBytes) {
    problems.push(
      `CONSUMER_FETCH_PARTITION_BYTES: ${fetchMaxBytesPerPartition} is more than CONSUMER_FETCH_MAX_BYTES (${fetchMaxBytes}), which bounds the whole response; lower it or raise CONSUMER_FETCH_MAX_BYTES`,
    );
  }
  return { groupId, sessionTimeoutMs, fetchMaxBytes, fetchMaxBytesPerPartition };
}

/**
 * The consumer's group session timeout. Kafka brokers accept 6000-1800000 ms by default
 * (group.min/max.session.timeout.ms); shorter means faster takeover after a crash, longer
 * tolerates longer pauses.
 */
function parseSessionTimeout(text: string | undefined, problems: string[]): number {
  if (text === undefined) return DEFAULTS.CONSUMER_SESSION_TIMEOUT_MS;
  const ms = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(ms >= 6000 && ms <= 1_800_000)) {
    problems.push(
      `CONSUMER_SESSION_TIMEOUT_MS: "${text}" is not a session timeout; use milliseconds 6000-1800000 (the broker's group.min/max.session.timeout.ms)`,
    );
    return DEFAULTS.CONSUMER_SESSION_TIMEOUT_MS;
  }
  return ms;
}

/** Fetch limits: at least 1 KiB (a record batch header and a record), at most 1 GiB. */
function parseBytes(
  name: string,
  text: string | undefined,
  fallback: number,
  problems: string[],
): number {
  if (text === undefined) return fallback;
  const m = /^(\d{1,10})\s*(KiB|MiB)?$/i.exec(text);
  const bytes = m === null
    ? NaN
    : Number(m[1]) * ({ kib: 1024, mib: 1024 * 1024 }[m[2]?.toLowerCase() ?? ""] ?? 1);
  if (!(bytes >= 1024 && bytes <= 1024 ** 3)) {
    problems.push(
      `${name}: "${text}" is not a byte size; use bytes (or a number with KiB / MiB) from 1 KiB to 1024 MiB, e.g. 1MiB`,
    );
    return fallback;
  }
  return bytes;
}
