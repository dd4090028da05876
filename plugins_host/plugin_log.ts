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
 * Stderr lines a second past which the plugin is stopped as a `flood`. The byte limit alone lets
 * a plugin send about a million empty lines a second, and each line costs the host work (three
 * such plugins took two thirds of its CPU). 250 times the lines that are logged is still plenty
 * for a chatty plugin.
 */
const FLOOD_LINES_PER_SECOND = 5000;
/** How many of the last lines are kept to tell why a process died. */
const RECENT_LINES = 32;

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
  #windowLines = 0;
  #flooded = false;
  // The last lines, raw (each at most LOG_LINE_BYTES) in a ring: a line that is dropped costs
  // no formatting; `recent` sanitizes them when asked.
  #recent: string[] = [];
  #recentNext = 0;

  /**
   * `onFlood` is called once, when the output passes `FLOOD_BYTES_PER_SECOND` or
   * `FLOOD_LINES_PER_SECOND`; later output is ignored (the process is being stopped).
   */
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
    if (this.#flooded) return;
    const now = this.#now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowBytes = 0;
      this.#windowLines = 0;
    }
    this.#windowBytes += text.length;
    if (this.#windowBytes > FLOOD_BYTES_PER_SECOND) return this.#flood();
    for (let from = 0;;) {
      const newline = text.indexOf("\n", from);
      const end = newline < 0 ? text.length : newline;
      const take = Math.max(0, Math.min(LOG_LINE_BYTES - this.#line.length, end - from));
      this.#line += text.slice(from, from + take);
      this.#cut += end - from - take;
      if (newline < 0) return;
      if (++this.#windowLines > FLOOD_LINES_PER_SECOND) return this.#flood();
      this.#emit(now);
      from = newline + 1;
    }
  }

  /** Emits the last unterminated line and the count of dropped lines. */
  end(): void {
    if (this.#line !== "" || this.#cut > 0) this.#emit(this.#now());
    if (this.#dropped > 0) this.#log(`${this.#prefix}(${this.#dropped} lines dropped)`);
    this.#dropped = 0;
  }

  /** The last lines seen (sanitized, before rate limiting), to tell why a process died. */
  get recent(): string[] {
    const ring = this.#recent;
    return [...ring.slice(this.#recentNext), ...ring.slice(0, this.#recentNext)]
      .map((line) => sanitize(line, LOG_LINE_BYTES));
  }

  #flood(): void {
    this.#flooded = true;
    this.#onFlood();
  }

  // Per line, O(1) until the rate limit lets the line through: only then is it formatted.
  #emit(now: number): void {
    const line = this.#line;
    const cut = this.#cut;
    this.#line = "";
    this.#cut = 0;
    this.#recent[this.#recentNext] = line;
    this.#recentNext = (this.#recentNext + 1) % RECENT_LINES;
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
    let text = sanitize(line, LOG_LINE_BYTES);
    if (cut > 0) text += ` …(${cut} more characters)`;
    const note = this.#dropped > 0 ? ` (${this.#dropped} lines dropped before this)` : "";
    this.#dropped = 0;
    this.#log(this.#prefix + text + note);
  }
}
