/**
 * The consumer's `/metrics` source: the group member's {@linkcode ConsumerMetrics} registry plus what
 * lives outside it — records in flight, scorer failures and reloads (from the scoring host),
 * build info and whether each kafkajs patch is live.
 *
 * @module
 */
import {
  type Metric,
  type MetricSample,
  type MetricSnapshot,
  type MetricSource,
  MetricsRegistry,
} from "../../mod.ts";
import type { ObservedConsumer } from "./observed.ts";
import type { ScorerStatus } from "../../plugins_host/types.ts";
import { kafkajsPatchReport, PATCH_NAMES } from "../../kafkajs_patches/mod.ts";

/** A counter whose samples come from a callback (counts kept by another component). */
export class CallbackCounter implements Metric {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  readonly #samples: () => readonly MetricSample[];

  /** `samples` is called at every collect; values must only grow. */
  constructor(
    options: { readonly name: string; readonly help: string },
    samples: () => readonly MetricSample[],
  ) {
    this.name = options.name;
    this.help = options.help;
    this.#samples = samples;
  }

  /** Snapshot of the callback's samples. */
  collect(_now?: number): MetricSnapshot {
    return { name: this.name, help: this.help, type: "counter", samples: this.#samples() };
  }
}

/**
 * A scorer's `scorer` label: its name, unique among the scorers that serve; a file whose claim
 * was refused (a conflict) keeps running but is labelled by its path, so it never adds a second
 * series under another scorer's name.
 */
function scorerLabel(s: ScorerStatus): string {
  return s.name === undefined || s.state === "conflict" ? s.file : s.name;
}

/** Build identity for `orderflow_build_info`. */
export interface BuildInfo {
  readonly version: string;
  readonly deno: string;
}

/**
 * Everything `/metrics` renders for one consumer, in a stable order: the group member's metrics first,
 * then in-flight records, scorer failures/reloads and build info.
 */
export function consumerExposition(consumer: ObservedConsumer, build: BuildInfo): MetricSource {
  const extra = new MetricsRegistry();
  extra.gauge({
    name: "orderflow_in_flight",
    help: "Records fetched and not yet durable, over all partitions.",
    collect: (g) => g.set(consumer.inFlight()),
  });
  const scoring = consumer.scoring;
  extra.register(
    new CallbackCounter({
      name: "orderflow_scorer_failures_total",
      help: "Scorer plugin failures (the order got a fallback score), by scorer and reason.",
    }, () => {
      if (scoring === undefined) return [];
      // A refused (conflict) file's failures are labelled by its path, as in scorerLabel.
      const refused = new Set(
        scoring.status().filter((s) => s.state === "conflict").map((s) => s.file),
      );
      const sums = new Map<string, MetricSample>();
      for (const f of scoring.metrics().failures) {
        const scorer = refused.has(f.file) ? f.file : f.scorer;
        const key = JSON.stringify([scorer, f.reason]);
        const prev = sums.get(key);
        sums.set(key, {
          suffix: "",
          labels: [["scorer", scorer], ["reason", f.reason]],
          value: (prev?.value ?? 0) + f.count,
        });
      }
      return [...sums.values()];
    }),
  );
  extra.register(
    new CallbackCounter(
      {
        name: "orderflow_scorer_reloads_total",
        help: "Scorer plugins hot-reloaded from the plugins directory.",
      },
      () =>
        scoring === undefined ? [] : [{ suffix: "", labels: [], value: scoring.metrics().reloads }],
    ),
  );
  extra.gauge({
    name: "orderflow_scorers_ready",
    help: "Scorer plugins loaded and serving their channel.",
    collect: (g) => {
      if (scoring !== undefined) g.set(scoring.status().filter((s) => s.state === "ready").length);
    },
  });
  extra.gauge({
    name: "orderflow_scorers",
    help: "Scorer plugin files by state (ready, backoff, failed, conflict, disabled).",
    labelNames: ["state"],
    collect: (g) => {
      const states = ["ready", "backoff", "failed", "conflict", "disabled"] as const;
      const rows = scoring?.status() ?? [];
      for (const state of states) g.set(rows.filter((s) => s.state === state).length, { state });
    },
  });
  extra.gauge({
    name: "orderflow_scorer_memory_bytes",
    help: "Resident memory of each running sandboxed scorer process.",
    labelNames: ["scorer"],
    collect: (g) => {
      for (const s of scoring?.status() ?? []) {
        if (s.rssBytes !== undefined) g.set(s.rssBytes, { scorer: scorerLabel(s) });
      }
    },
  });
  extra.register(
    new CallbackCounter({
      name: "orderflow_scorer_busy_seconds_total",
      help: "Time spent in calls to each scorer plugin (a slow plugin shows here first).",
    }, () =>
      (scoring?.status() ?? []).map((s) => ({
        suffix: "",
        labels: [["scorer", scorerLabel(s)]] as [string, string][],
        value: s.busyMs / 1000,
      }))),
  );
  extra.gauge({
    name: "orderflow_build_info",
    help: "Build information; the value is always 1.",
    labelNames: ["version", "deno"],
    collect: (g) => g.set(1, { version: build.version, deno: build.deno }),
  });
  extra.gauge({
    name: "orderflow_kafkajs_patch_live",
    help: "1 when the kafkajs patch is installed and passed its self-test, 0 when off.",
    labelNames: ["patch"],
    collect: (g) => {
      const patches = kafkajsPatchReport()?.patches ?? [];
      for (const patch of PATCH_NAMES) {
        g.set(patches.some((p) => p.name === patch && p.live) ? 1 : 0, { patch });
      }
    },
  });
  return Object.freeze({
    collect(now?: number): MetricSnapshot[] {
      return [...consumer.metrics.registry.collect(now), ...extra.collect(now)];
    },
  });
}
