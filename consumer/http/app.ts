/**
 * The consumer's HTTP endpoints as one fetch handler (Deno's `export default { fetch }` shape),
 * so tests call it without a socket:
 *
 * - `GET /metrics` — Prometheus text exposition (core's `renderPrometheus`).
 * - `GET /healthz` — 200 while the consume loop shows life (a fetch, heartbeat or finished
 *   record within `liveWithinMs`), else 503.
 * - `GET /readyz` — 200 when joined to the consumer group, start-up is complete (scorers warmed,
 *   sink probed, first fetch answered) and the sink probe answers (cached a few seconds), else 503
 *   with a JSON reason.
 * - `GET /` — the live dashboard; `GET /api/snapshot[?since=<epoch s>]` — its JSON data.
 *
 * Every text body goes through `redact` with the settings' secrets as a last line of defence.
 *
 * @module
 */
import { settleWithin } from "../../core/async.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "../../mod.ts";
import { redact, secretsOf, type Settings } from "../../config/settings.ts";
import type { ObservedConsumer } from "./observed.ts";
import { consumerExposition } from "./exposition.ts";
import { CachedProbe, type CachedProbeOptions } from "./readiness.ts";
import { buildSnapshot, type HealthView, History, serviceInfo } from "./snapshot.ts";
import { ASSETS } from "./assets.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** Options of {@linkcode createConsumerHttp}. */
export interface ConsumerHttpOptions {
  readonly consumer: ObservedConsumer;
  /** Settings of the consumer (for the non-secret service description and redaction). */
  readonly settings: Settings;
  /** Liveness window, ms (default 30000). */
  readonly liveWithinMs?: number;
  /** Sink probe caching and timeout. */
  readonly probe?: CachedProbeOptions;
  /** Clock, epoch ms (default `Date.now`). */
  readonly now?: () => number;
}

/** The handler plus the once-a-second history sampler the server drives. */
export interface ConsumerHttp {
  /** Answers one request. */
  fetch(request: Request): Promise<Response>;
  /** Appends a point to the dashboard's history (call once a second). */
  sample(now?: number): void;
}

const JSON_TYPE = "application/json; charset=utf-8";
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
} as const;

/** The package version from deno.json. */
export const VERSION: string = denoJson.version;

/**
 * Creates the handler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadSettings } from "../../config/settings.ts";
 * import { ConsumerMetrics } from "../metrics.ts";
 * import { createConsumerHttp } from "./app.ts";
 *
 * const app = createConsumerHttp({
 *   settings: loadSettings({}),
 *   consumer: {
 *     metrics: new ConsumerMetrics({ now: Date.now }),
 *     inFlight: () => 0,
 *     probeSink: () => Promise.resolve(),
 *   },
 * });
 * const res = await app.fetch(new Request("http://localhost/readyz"));
 * assert.equal(res.status, 503); // not joined to the group yet
 * assert.match((await res.json()).reason, /not joined/);
 * ```
 */
export function createConsumerHttp(options: ConsumerHttpOptions): ConsumerHttp {
  const { consumer, settings } = options;
  const now = options.now ?? Date.now;
  const liveWithinMs = options.liveWithinMs ?? 30_000;
  const secrets = secretsOf(settings);
  const service = serviceInfo(settings, VERSION);
  const exposition = consumerExposition(consumer, { version: VERSION, deno: Deno.version.deno });
  const probe = new CachedProbe(() => consumer.probeSink(), { now, ...options.probe });
  const history = new History(consumer.metrics);
  let lagAt = 0;

  function text(status: number, body: string, type: string, extra: HeadersInit = {}): Response {
    return new Response(redact(body, secrets), {
      status,
      headers: { "content-type": type, "cache-control": "no-store", ...SECURITY_HEADERS, ...extra },
    });
  }

  function json(status: number, body: unknown): Response {
    return text(status, JSON.stringify(body), JSON_TYPE);
  }

  function liveness(): { live: boolean; reason?: string; idleMs: number } {
    const idleMs = Math.max(0, now() - consumer.metrics.lastTick);
    if (consumer.stopping?.() === true) return { live: false, reason: "shutting down", idleMs };
    if (idleMs > liveWithinMs) {
      return {
        live: false,
        reason: `no consume-loop activity for ${Math.round(idleMs / 1000)} s`,
        idleMs,
      };
    }
    return { live: true, idleMs };
  }

  async function readiness(): Promise<{ ready: boolean; reason?: string }> {
    if (consumer.stopping?.() === true) return { ready: false, reason: "shutting down" };
    if (!consumer.metrics.joined) {
      return {
        ready: false,
        reason:
          `not joined to consumer group "${settings.consumer.groupId}" (starting or rebalancing)`,
      };
    }
    const waiting = consumer.starting?.();
    if (waiting !== undefined) return { ready: false, reason: `starting: waiting for ${waiting}` };
    const result = await probe.check();
    if (!result.ok) return { ready: false, reason: `sink unavailable: ${result.reason}` };
    return { ready: true };
  }

  async function refreshLag(): Promise<void> {
    if (consumer.refreshLag === undefined || now() - lagAt < 2000) return;
    lagAt = now();
    await settleWithin(consumer.refreshLag(), 1000, undefined);
  }

  async function route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    switch (path) {
      case "/metrics":
        await refreshLag();
        return text(200, renderPrometheus(exposition, { now: now() }), PROMETHEUS_CONTENT_TYPE);
      case "/healthz": {
        const l = liveness();
        return json(l.live ? 200 : 503, {
          status: l.live ? "ok" : "unhealthy",
          ...(l.reason === undefined ? {} : { reason: l.reason }),
          lastActivityMsAgo: l.idleMs,
        });
      }
      case "/readyz": {
        const r = await readiness();
        return json(r.ready ? 200 : 503, {
          status: r.ready ? "ready" : "not ready",
          ...(r.reason === undefined ? {} : { reason: r.reason }),
        });
      }
      case "/api/snapshot": {
        await refreshLag();
        const since = Number(url.searchParams.get("since") ?? "0");
        const l = liveness();
        const r = await readiness();
        const health: HealthView = {
          live: l.live,
          ready: r.ready,
          ...(r.reason ?? l.reason) === undefined ? {} : { reason: (r.reason ?? l.reason)! },
        };
        return json(
          200,
          buildSnapshot(consumer, service, history, health, {
            now: now(),
            since: Number.isFinite(since) ? since : 0,
          }),
        );
      }
    }
    const asset = ASSETS.get(path === "/index.html" ? "/" : path);
    if (asset !== undefined) {
      // Static files carry no secrets; skip the redaction pass over 50 kB of uPlot.
      return new Response(asset.body, {
        headers: {
          "content-type": asset.type,
          "cache-control": path.startsWith("/assets/uPlot") ? "public, max-age=3600" : "no-cache",
          ...SECURITY_HEADERS,
        },
      });
    }
    return json(404, { error: `Cannot find ${path}`, routes: ROUTES });
  }

  return Object.freeze({
    async fetch(request: Request): Promise<Response> {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return text(405, `Cannot ${request.method}: only GET and HEAD are served\n`, "text/plain", {
          allow: "GET, HEAD",
        });
      }
      const response = await route(request);
      return request.method === "HEAD"
        ? new Response(null, { status: response.status, headers: response.headers })
        : response;
    },
    sample(at: number = now()): void {
      history.sample(at);
    },
  });
}

const ROUTES = Object.freeze(["/", "/metrics", "/healthz", "/readyz", "/api/snapshot"]);
