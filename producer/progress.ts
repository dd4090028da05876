/**
 * Progress on stderr: a redrawn bar on a terminal, plain periodic lines otherwise.
 *
 * @module
 */

import type { ProduceCounts } from "./produce.ts";

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** Where lines go (stderr). */
  readonly write: (text: string) => void;
  /** Redraw a bar in place (stderr is a terminal) or print plain lines. */
  readonly tty: boolean;
  /** Records expected, when known (for a percentage). */
  readonly total?: number;
  /** Planned run time in ms, when known (for a percentage). */
  readonly durationMs?: number;
  /** Interval between plain lines in ms (TTY redraws every 200 ms). */
  readonly intervalMs: number;
  readonly counts: () => ProduceCounts;
}

const BAR_WIDTH = 24;

/**
 * Format one progress line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatProgress } from "./progress.ts";
 * const counts = { read: 50, sent: 50, acked: 40, failed: 0, invalid: 0, elapsedMs: 2000 };
 * assert.match(formatProgress(counts, { total: 100, bar: false }), /40\/100 acked \(40%\)/);
 * ```
 */
export function formatProgress(
  counts: ProduceCounts,
  options: { total?: number; durationMs?: number; bar: boolean },
): string {
  const seconds = counts.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(counts.acked / seconds) : 0;
  const fraction = options.total !== undefined && options.total > 0
    ? (counts.acked + counts.failed + counts.invalid) / options.total
    : options.durationMs !== undefined
    ? counts.elapsedMs / options.durationMs
    : undefined;
  const pct = fraction === undefined ? "" : ` (${Math.min(100, Math.floor(fraction * 100))}%)`;
  const of = options.total === undefined ? "" : `/${options.total}`;
  const bar = options.bar && fraction !== undefined
    ? `[${"#".repeat(Math.round(Math.min(1, fraction) * BAR_WIDTH)).padEnd(BAR_WIDTH, "-")}] `
    : "";
  const extra = [
    counts.failed > 0 ? `failed ${counts.failed}` : "",
    counts.invalid > 0 ? `invalid ${counts.invalid}` : "",
    `in flight ${counts.sent - counts.acked - counts.failed}`,
  ].filter((s) => s !== "").join(", ");
  return `${bar}${counts.acked}${of} acked${pct}, ${extra}, ${rate}/s, ${seconds.toFixed(1)} s`;
}

/** Periodic progress output; call {@linkcode Progress.stop} before printing the summary. */
export class Progress {
  readonly #options: ProgressOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #drawn = false;

  constructor(options: ProgressOptions) {
    this.#options = options;
  }

  /** Start printing. */
  start(): void {
    const every = this.#options.tty ? 200 : this.#options.intervalMs;
    this.#timer = setInterval(() => this.#draw(), every);
  }

  /** Stop printing and clear a drawn bar. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#options.tty && this.#drawn) this.#options.write("\r\x1b[2K");
    this.#drawn = false;
  }

  /** Print a log line without garbling the bar. */
  log(line: string): void {
    if (this.#options.tty && this.#drawn) this.#options.write("\r\x1b[2K");
    this.#options.write(`${line}\n`);
    if (this.#options.tty && this.#drawn) this.#draw();
  }

  #draw(): void {
    const o = this.#options;
    const line = formatProgress(o.counts(), {
      ...(o.total === undefined ? {} : { total: o.total }),
      ...(o.durationMs === undefined ? {} : { durationMs: o.durationMs }),
      bar: o.tty,
    });
    if (o.tty) {
      o.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else {
      o.write(`progress: ${line}\n`);
    }
  }
}
