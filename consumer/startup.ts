/**
 * Start-up readiness of the consumer: the steps that must be done before it can store at full
 * speed (scorers loaded and warmed, sink probed, group joined and first fetch answered). `/readyz`
 * answers 503 until every step is done; then one log line says what each step took.
 *
 * Readiness is a latch: once reached it stays (a later rebalance or sink outage is `/readyz`'s
 * own business: "not joined", "sink unavailable").
 *
 * @module
 */

/** One completed step. */
export interface StartupStep {
  readonly name: string;
  /** What was done, for the log line (e.g. "group joined, partitions [0,1]"). */
  readonly detail: string;
  /** When it completed, ms since process start. */
  readonly at: number;
}

/** Options of {@linkcode StartupReadiness}. */
export interface StartupReadinessOptions {
  /** Receives the single "consumer: ready ..." line. */
  readonly log: (line: string) => void;
  /** Clock, ms since process start (default `performance.now`). */
  readonly now?: () => number;
}

/**
 * Tracks named start-up steps; ready once all are complete.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StartupReadiness } from "./startup.ts";
 *
 * const lines: string[] = [];
 * let t = 0;
 * const r = new StartupReadiness(["sink", "kafka"], { log: (l) => lines.push(l), now: () => t });
 * t = 5;
 * r.complete("sink", "sink probed");
 * assert.equal(r.ready, false);
 * assert.deepEqual(r.waitingFor(), ["kafka"]);
 * t = 40;
 * r.complete("kafka", "first fetch issued");
 * r.complete("kafka", "first fetch issued"); // again: ignored
 * assert.equal(r.ready, true);
 * assert.deepEqual(lines, [
 *   "consumer: ready 40 ms after process start (sink probed at 5 ms; first fetch issued at 40 ms)",
 * ]);
 * ```
 */
export class StartupReadiness {
  readonly #steps: readonly string[];
  readonly #done = new Map<string, StartupStep>();
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #ready = Promise.withResolvers<readonly StartupStep[]>();

  /** Tracks `steps` (names, in the order the log line lists them). */
  constructor(steps: readonly string[], options: StartupReadinessOptions) {
    this.#steps = Object.freeze([...steps]);
    this.#log = options.log;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Marks `step` done (the first call counts); logs the ready line when it was the last one. */
  complete(step: string, detail: string): void {
    if (!this.#steps.includes(step)) {
      throw new RangeError(`Cannot complete start-up step "${step}": not one of ${this.#steps}`);
    }
    if (this.#done.has(step)) return;
    this.#done.set(step, Object.freeze({ name: step, detail, at: this.#now() }));
    if (this.#done.size < this.#steps.length) return;
    const steps = this.#steps.map((name) => this.#done.get(name)!);
    const last = Math.max(...steps.map((s) => s.at));
    this.#log(
      `consumer: ready ${Math.round(last)} ms after process start (${
        steps.map((s) => `${s.detail} at ${Math.round(s.at)} ms`).join("; ")
      })`,
    );
    this.#ready.resolve(Object.freeze(steps));
  }

  /** True once every step is complete. */
  get ready(): boolean {
    return this.#done.size === this.#steps.length;
  }

  /** The steps not complete yet, in order. */
  waitingFor(): readonly string[] {
    return this.#steps.filter((s) => !this.#done.has(s));
  }

  /** Resolves with the completed steps once ready. */
  get whenReady(): Promise<readonly StartupStep[]> {
    return this.#ready.promise;
  }
}
