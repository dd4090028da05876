/**
 * Builds the configured sink: `SINK=local|cos` × `SINK_LAYOUT=per-order|batched`.
 *
 * @module
 */
import type { SinkSettings } from "../config/settings.ts";
import { createCosClient } from "../config/cos.ts";
import { LocalSink } from "./sinks/local.ts";
import { CosSink } from "./sinks/cos.ts";
import type { Sink } from "./sinks/types.ts";

/** Creates the sink described by `settings` (no I/O until the first write or probe). */
export function sinkFromSettings(settings: SinkSettings): Sink {
  const inner: Sink = settings.kind === "local"
    ? new LocalSink({ dir: settings.dir })
    : new CosSink({ client: createCosClient(settings.cos), cos: settings.cos });
  if (settings.layout === "batched") {
    throw new RangeError("Cannot create sink: SINK_LAYOUT=batched is not implemented yet");
  }
  return inner;
}
