/**
 * What every task's CLI shell needs from the process: whole writes to stdout/stderr and a
 * SIGINT/SIGTERM handler that can be removed. Injected into `main()` so tests drive the shells
 * without a process.
 *
 * @module
 */

/** Writes all of `text` to `target` (a single `writeSync` may write only part of it). */
export function writeAllSync(target: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(target.writeSync(bytes));
}

/**
 * Registers `handler` for SIGINT and SIGTERM; returns the function that unregisters it. A task
 * stopped by one exits with `SIGNAL_EXIT` (cli/usage.ts): 130 / 143.
 */
export function onStopSignals(handler: (signal: "SIGINT" | "SIGTERM") => void): () => void {
  const onInt = () => handler("SIGINT");
  const onTerm = () => handler("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  return () => {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  };
}
