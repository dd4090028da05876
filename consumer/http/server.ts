/**
 * Serves the consumer's endpoints (see `app.ts`) with `Deno.serve` on `HTTP_HOST:HTTP_PORT`
 * (default 127.0.0.1:8787; port 0 switches the server off), and samples the dashboard history
 * once a second.
 *
 * @module
 */
import type { ConsumerHttp } from "./app.ts";

/** Options of {@linkcode startHttpServer}. */
export interface HttpServerOptions {
  readonly host: string;
  /** TCP port; 0 means no server. */
  readonly port: number;
  /** Where the "listening" line and problems go. */
  readonly log: (line: string) => void;
  /** History sampling interval, ms (default 1000). */
  readonly sampleEveryMs?: number;
}

/** A running server. */
export interface HttpServerHandle {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** Stops sampling, closes the listener and waits for open requests. */
  close(): Promise<void>;
}

/**
 * Starts the server; returns undefined when `port` is 0, or when the address is already in use
 * (logged with the remedy: the consumer keeps consuming without HTTP rather than stopping a
 * pipeline over a port clash). Other listen errors are thrown.
 */
export function startHttpServer(
  app: ConsumerHttp,
  options: HttpServerOptions,
): HttpServerHandle | undefined {
  if (options.port === 0) return undefined;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.host,
      port: options.port,
      onListen: () => {},
      onError: (error) => {
        options.log(`http: request failed: ${(error as Error)?.message ?? error}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, (request) => app.fetch(request));
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      options.log(
        `http: cannot listen on ${options.host}:${options.port}: address in use; ` +
          `continuing without /metrics and the dashboard\n` +
          `Set HTTP_PORT to a free port (or 0 to switch HTTP off).`,
      );
      return undefined;
    }
    throw error;
  }
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  options.log(
    `http: dashboard ${url}/  metrics ${url}/metrics  health ${url}/healthz ${url}/readyz`,
  );
  const timer: ReturnType<typeof setInterval> = setInterval(
    () => app.sample(),
    options.sampleEveryMs ?? 1000,
  );
  let closed: Promise<void> | undefined;
  return Object.freeze({
    url,
    close(): Promise<void> {
      clearInterval(timer);
      closed ??= server.shutdown();
      return closed;
    },
  });
}
