/**
 * Opt-in Prometheus `/metrics` for `deno task produce --metrics-port <port>`: records sent,
 * acknowledged, failed and invalid, and the ack latency histogram (seconds), served on
 * 127.0.0.1 while the run lasts.
 *
 * @module
 */
import {
  type LatencyHistogram,
  type MetricSnapshot,
  type MetricSource,
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
} from "../mod.ts";
import type { ProduceCounts } from "./produce.ts";
import type { EdgeChannelCounts } from "./edge.ts";

/** What the producer's `/metrics` reads. */
export interface ProducerObserved {
  /** Live counts (`ProduceRun.counts()`). */
  counts(): ProduceCounts;
  /** Ack latency in ms (the histogram passed to `ProduceRun.run`). */
  readonly ackLatency: LatencyHistogram;
  /** Edge-scoring counts per channel, with `--score` (undefined or empty: no such metrics). */
  readonly edge?: () => ReadonlyMap<string, EdgeChannelCounts> | undefined;
}

function perChannel(
  name: string,
  help: string,
  edge: ReadonlyMap<string, EdgeChannelCounts>,
  value: (c: EdgeChannelCounts) => number,
): MetricSnapshot {
  return {
    name,
    help,
    type: "counter",
    samples: [...edge].sort(([a], [b]) => a.localeCompare(b)).map(([channel, c]) => ({
      suffix: "",
      labels: [["channel", channel] as const],
      value: value(c),
    })),
  };
}

function counter(name: string, help: string, value: number): MetricSnapshot {
  return { name, help, type: "counter", samples: [{ suffix: "", labels: [], value }] };
}

/** In seconds, the Prometheus convention: `le` bounds and `_sum` divided by 1000. */
function inSeconds(snapshot: MetricSnapshot, name: string): MetricSnapshot {
  return {
    ...snapshot,
    name,
    samples: snapshot.samples.map((s) => ({
      ...s,
      value: s.suffix === "_sum" ? s.value / 1000 : s.value,
      labels: s.labels.map(([k, v]) =>
        k === "le" && v !== "+Inf" ? [k, String(Number(v) / 1000)] as const : [k, v] as const
      ),
    })),
  };
}

/**
 * The producer's metric families.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LatencyHistogram, renderPrometheus } from "../mod.ts";
 * import { producerExposition } from "./http.ts";
 *
 * const ackLatency = new LatencyHistogram({ name: "ack", help: "" });
 * ackLatency.observe(5);
 * const counts = { read: 3, sent: 3, acked: 2, failed: 1, invalid: 0, elapsedMs: 10 };
 * const text = renderPrometheus(producerExposition({ counts: () => counts, ackLatency }));
 * assert.match(text, /^orderflow_producer_records_acked_total 2$/m);
 * assert.match(text, /^orderflow_producer_ack_latency_seconds_sum 0.005$/m);
 * ```
 */
export function producerExposition(observed: ProducerObserved): MetricSource {
  return Object.freeze({
    collect(now?: number): MetricSnapshot[] {
      const c = observed.counts();
      return [
        counter("orderflow_producer_records_sent_total", "Records handed to Kafka.", c.sent),
        counter(
          "orderflow_producer_records_acked_total",
          "Records acknowledged by the broker (acks=all).",
          c.acked,
        ),
        counter(
          "orderflow_producer_records_failed_total",
          "Records not acknowledged after retries.",
          c.failed,
        ),
        counter(
          "orderflow_producer_records_invalid_total",
          "Input lines rejected before sending.",
          c.invalid,
        ),
        inSeconds(
          { ...observed.ackLatency.collect(now), help: "Send to broker acknowledgement latency." },
          "orderflow_producer_ack_latency_seconds",
        ),
        ...edgeFamilies(observed.edge?.()),
      ];
    },
  });
}

/** `--score` families: orders scored at the edge, by the fallback, and held, per channel. */
function edgeFamilies(edge: ReadonlyMap<string, EdgeChannelCounts> | undefined): MetricSnapshot[] {
  if (edge === undefined) return [];
  return [
    perChannel(
      "orderflow_producer_edge_scored_total",
      "Orders scored at the edge (--score), by channel.",
      edge,
      (c) => c.scored,
    ),
    perChannel(
      "orderflow_producer_edge_fallbacks_total",
      "Orders the fallback scored at the edge (their channel's scorer did not), by channel.",
      edge,
      (c) => c.fallbacks,
    ),
    perChannel(
      "orderflow_producer_held_total",
      "Orders held for review (--hold-above) and acknowledged on the hold topic, by channel.",
      edge,
      (c) => c.held,
    ),
  ];
}

/** A running producer metrics server. */
export interface ProducerMetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` on `hostname:port` (port 0 picks a free one). */
export function startProducerMetrics(
  observed: ProducerObserved,
  options: { readonly hostname?: string; readonly port: number },
): ProducerMetricsServer {
  const source = producerExposition(observed);
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
    onListen: () => {},
  }, (request) => {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET") {
      return new Response("only GET\n", { status: 405, headers: { allow: "GET" } });
    }
    if (path !== "/metrics") return new Response("not found: try /metrics\n", { status: 404 });
    return new Response(renderPrometheus(source), {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
    });
  });
  let closed: Promise<void> | undefined;
  return Object.freeze({
    url: `http://${server.addr.hostname}:${server.addr.port}`,
    close: () => closed ??= server.shutdown(),
  });
}
