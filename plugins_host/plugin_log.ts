/**
 * A plugin process's stderr as log lines: prefixed with the plugin's name, control characters
 * escaped, cut, rate-limited, and a flood alarm (limits in the README's plugin section).
 *
 * @module
 */
import { sanitize } from "./protocol.ts";

/** Longest log line kept from a plugin, in bytes; the rest of the line is dropped and counted. */
const LOG_LINE_BYTES = 2048;
/** Lines a second a plugin may log (with a burst of twice this); more are dropped and counted. */
const LOG_LINES_PER_SECOND = 20;
/** Stderr bytes a second past which the plugin is stopped as a `flood`. */
const FLOOD_BYTES_PER_SECOND = 1024 * 1024;

/**
 * Turns stderr chunks into sanitized, rate-limited log lines.
 *
 * @example
 * ```ts
 * import { PluginLog } from "./plugin_log.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = new PluginLog("evil", (line) => lines.push(line), () => {});
 * log.push("INFO fake\x1b[2J\nsecond");
 * log.end();
 * assert.deepEqual(lines, ["plugin evil: INFO fake\\x1b[2J", "plugin evil: second"]);
 * ```
 */
export class PluginLog {
  #prefix: string;
  #log: (line: string) => void;
  #onFlood: () => void;
  #now: () => number;
  #line = "";
  #cut = 0;
  #tokens = LOG_LINES_PER_SECOND * 2;
  #refilled: number;
  #dropped = 0;
  #windowStart: number;
  #windowBytes = 0;
  /** The last lines seen (sanitized, before rate limiting), to tell why a process died. */
  readonly recent: string[] = [];

  /** `onFlood` is called once, when the output passes `FLOOD_BYTES_PER_SECOND`. */
  constructor(
    name: string,
    log: (line: string) => void,
    onFlood: () => void,
    now: () => number = performance.now.bind(performance),
  ) {
    this.#prefix = `plugin ${name}: `;
    this.#log = log;
    this.#onFlood = onFlood;
    this.#now = now;
    this.#refilled = this.#windowStart = now();
  }

  /** Takes a chunk of stderr text (lengths count UTF-16 code units, about bytes). */
  push(text: string): void {
    const now = this.#now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowBytes = 0;
    }
    this.#windowBytes += text.length;
    if (this.#windowBytes > FLOOD_BYTES_PER_SECOND) {
      this.#windowBytes = -Infinity; // report once
      this.#onFlood();
    }
    for (let from = 0;;) {
      const newline = text.indexOf("\n", from);
      const end = newline < 0 ? text.length : newline;
      const take = Math.max(0, Math.min(LOG_LINE_BYTES - this.#line.length, end - from));
      this.#line += text.slice(from, from + take);
      this.#cut += end - from - take;
      if (newline < 0) return;
      this.#emit();
      from = newline + 1;
    }
  }

  /** Emits the last unterminated line and the count of dropped lines. */
  end(): void {
    if (this.#line !== "" || this.#cut > 0) this.#emit();
    if (this.#dropped > 0) this.#log(`${this.#prefix}(${this.#dropped} lines dropped)`);
    this.#dropped = 0;
  }

  #emit(): void {
    let text = sanitize(this.#line, LOG_LINE_BYTES);
    if (this.#cut > 0) text += ` …(${this.#cut} more characters)`;
    this.#line = "";
    this.#cut = 0;
    this.recent.push(text);
    if (this.recent.length > 32) this.recent.shift();
    const now = this.#now();
    this.#tokens = Math.min(
      LOG_LINES_PER_SECOND * 2,
      this.#tokens + (now - this.#refilled) * LOG_LINES_PER_SECOND / 1000,
    );
    this.#refilled = now;
    if (this.#tokens < 1) {
      this.#dropped++;
      return;
    }
    this.#tokens--;
    const note = this.#dropped > 0 ? ` (${this.#dropped} lines dropped before this)` : "";
    this.#dropped = 0;
    this.#log(this.#prefix + text + note);
  }
}
