/**
 * Builds the configured sink: `SINK=local|cos` × `SINK_LAYOUT=per-order|batched`.
 *
 * @module
 */
import type { SinkSettings } from "../config/settings.ts";
import { createCosClient } from "../clients/cos.ts";
import { LocalSink } from "./sinks/local.ts";
import { CosSink } from "./sinks/cos.ts";
import { BatchedSink } from "./sinks/batched.ts";
import type { Sink } from "./sinks/types.ts";

/** Tuning of the batched layout (CLI flags `--batch-records`, `--batch-max-age`). */
export interface BatchOptions {
  /** Segment size N in offsets (default 1000). */
  readonly records?: number;
  /** Write a segment still filling when its oldest unwritten record is this old (default 5000). */
  readonly maxAgeMs?: number;
  /** Log lines of the batched layout and of the local sink (its stale-temp sweep). */
  readonly log?: (line: string) => void;
}

/**
 * Creates the sink described by `settings` (no I/O until the first write or probe): a per-order
 * {@linkcode Sink}, or a {@linkcode BatchedSink} over one for `layout: "batched"`.
 */
export function sinkFromSettings(
  settings: SinkSettings,
  batch: BatchOptions = {},
): Sink | BatchedSink {
  const inner: Sink = settings.kind === "local"
    ? new LocalSink({ dir: settings.dir, ...(batch.log === undefined ? {} : { log: batch.log }) })
    : new CosSink({ client: createCosClient(settings.cos), cos: settings.cos });
  if (settings.layout === "batched") {
    return new BatchedSink({
      inner,
      ...(batch.records === undefined ? {} : { records: batch.records }),
      ...(batch.maxAgeMs === undefined ? {} : { maxAgeMs: batch.maxAgeMs }),
      ...(batch.log === undefined ? {} : { log: batch.log }),
    });
  }
  return inner;
}
