/**
 * Trusted mode: runs a plugin inside the host's own process, with no isolation, no memory cap
 * and no deadline (a synchronous hang blocks the host). For benchmarks that compare against the
 * sandbox, tests, and deployments that vet their plugins; never the default.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";
import { resolveOptions, type Scorer, type ScorerSpec } from "../sdk/contract.ts";
import { checkPluginModule, scoreAll } from "./_harness.ts";
import {
  type LaunchOptions,
  PluginFailure,
  type PluginInstance,
  ScorerLoadError,
} from "./types.ts";
import type { OrderError, ScoreReply } from "./protocol.ts";

/** A plugin imported into the host's process. */
export class InProcessPlugin implements PluginInstance {
  readonly spec: ScorerSpec;
  #scorer: Scorer;
  #alive = true;

  private constructor(spec: ScorerSpec, scorer: Scorer) {
    this.spec = spec;
    this.#scorer = scorer;
  }

  /** Imports the file (a fresh URL per load, so a reload sees the new source). */
  static async launch(o: LaunchOptions): Promise<InProcessPlugin> {
    const fail = (why: string, cause?: unknown) =>
      new ScorerLoadError(o.file, `Cannot load scorer ${o.file}: ${why}`, { cause });
    let namespace: unknown;
    try {
      namespace = await import(`file://${o.file}?v=${Date.now()}-${Math.random()}`);
    } catch (error) {
      throw fail((error as Error).message, error);
    }
    const checked = checkPluginModule(namespace);
    if (typeof checked === "string") throw fail(checked);
    let scorer: Scorer;
    try {
      scorer = checked.create(resolveOptions(checked.spec, o.options));
    } catch (error) {
      throw fail(`create() failed: ${(error as Error).message}`, error);
    }
    if (typeof scorer?.score !== "function") {
      throw fail("create() must return an object with a score(order) function");
    }
    return new InProcessPlugin(checked.spec, scorer);
  }

  get alive(): boolean {
    return this.#alive;
  }

  score(orders: readonly OrderData[]): Promise<ScoreReply> {
    if (!this.#alive) return Promise.reject(new PluginFailure("crash", "plugin closed"));
    const { scores, errors } = scoreAll(this.#scorer, orders);
    return Promise.resolve({ scores, errors: errors as unknown as OrderError[] });
  }

  rssBytes(): undefined {
    return undefined;
  }

  close(): Promise<void> {
    this.#alive = false;
    return Promise.resolve();
  }
}
