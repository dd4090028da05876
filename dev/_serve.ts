/**
 * The start-up both local stand-in servers share (dev/iam.ts, dev/iam_front.ts): their command
 * line (`--host`, `--port`, the key files dev/s3.sh hands them), refusing to start with a remedy,
 * and serving with one line once listening.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Prints `<prog>: <problem>` and the remedy to stderr and exits 2 (bad start-up arguments). */
export function cannotStart(prog: string, problem: string, remedy: string): never {
  console.error(`${prog}: ${problem}`);
  console.error(`  ${remedy}`);
  Deno.exit(2);
}

/** A stand-in server's command line, read by {@linkcode serverArgs}. */
export interface ServerArgs<F extends string, O extends string> {
  readonly host: string;
  readonly port: number;
  /** The required `--<name> <path>` files. */
  readonly files: Record<F, string>;
  /** The other `--<name> <value>` options, with their defaults. */
  readonly options: Record<O, string>;
}

/**
 * Reads `--host` (default 127.0.0.1), `--port` (default `port`), the required `files` and the
 * other `options` (name → default) from `args`; exits 2 when a file is not given.
 */
export function serverArgs<F extends string, O extends string = never>(
  prog: string,
  port: number,
  files: readonly F[],
  options: Record<O, string> = {} as Record<O, string>,
  args: string[] = Deno.args,
): ServerArgs<F, O> {
  const spec: Record<string, { type: "string"; default?: string }> = {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: String(port) },
  };
  for (const name of files) spec[name] = { type: "string" };
  for (const [name, value] of Object.entries<string>(options)) {
    spec[name] = { type: "string", default: value };
  }
  const { values } = parseArgs({ args, options: spec });
  if (files.some((name) => values[name] === undefined)) {
    cannotStart(
      prog,
      `Cannot start: ${files.map((name) => `--${name}`).join(" and ")} are required`,
      "dev/s3.sh starts this with the files it generates in .run/s3/",
    );
  }
  const pick = <K extends string>(names: readonly K[]) =>
    Object.fromEntries(names.map((name) => [name, values[name]!])) as Record<K, string>;
  return {
    host: values.host!,
    port: Number(values.port),
    files: pick(files),
    options: pick(Object.keys(options) as O[]),
  };
}

/** Serves `handler` on the args' host and port; logs `<prog>: <listening(origin)>` once it listens. */
export function serveLocal(
  prog: string,
  args: { readonly host: string; readonly port: number },
  handler: Deno.ServeHandler,
  listening: (origin: string) => string,
): Deno.HttpServer {
  return Deno.serve({
    hostname: args.host,
    port: args.port,
    onListen: ({ hostname, port }) =>
      console.error(`${prog}: ${listening(`http://${hostname}:${port}`)}`),
  }, handler);
}
