/**
 * Runs one plugin in its own Deno process: a V8 heap cap, reads limited to the SDK folder and
 * the plugins directory, no other permission, no environment, no config or lock file of the
 * project, no remote or npm imports. Talks to it over stdin/stdout (see `protocol.ts`) and
 * captures stderr as the plugin's log (see `plugin_log.ts`).
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";
import type { ScorerSpec } from "../sdk/contract.ts";
import {
  type LaunchOptions,
  PluginFailure,
  type PluginInstance,
  ScorerLoadError,
} from "./types.ts";
import { PER_ORDER_BUDGET_MS } from "./manifest.ts";
import { PluginLog } from "./plugin_log.ts";
import { encodeOrders } from "./order_data.ts";
import { RSS_EXIT_CODE } from "./_limits.ts";
import {
  LOAD_LIMIT_BYTES,
  MEMORY_LINE_BYTES,
  parseLoadReply,
  parseMemoryLine,
  parseScoreReply,
  ProtocolError,
  replyLimitBytes,
  type ScoreReply,
  splitReply,
} from "./protocol.ts";

const here = (path: string) => new URL(path, import.meta.url).pathname;
const RUNNER = here("./_runner.ts");
const SDK_DIR = here("../sdk/");
const IMPORT_MAP = here("../sdk/import_map.json");
/** Files of this folder the plugin's worker loads; nothing else of the host is readable. */
const HARNESS_FILES = [here("./_harness.ts"), here("./_limits.ts")];

const encoder = new TextEncoder();

/** The executable started for each plugin: the `deno` on PATH, which `-P=consume` may run. */
export const DENO_COMMAND = "deno";

/**
 * Resident memory a plugin process may use beyond twice its heap cap (the plugin's heap, the
 * relay's heap, and Deno itself) before its watchdog stops it as `oom`. Memory outside the V8
 * heap (ArrayBuffers, WebAssembly) is only caught by this watchdog.
 */
export const RSS_SLACK_MB = 64;

/** Memory reports a second the host takes from one plugin process before calling it a flood. */
const MAX_MEMORY_REPORTS_PER_SECOND = 10;

function rssLimitBytes(memoryMb: number): number {
  return (2 * memoryMb + RSS_SLACK_MB) * 1024 * 1024;
}

/** The `deno` arguments that start a plugin: every permission denied but reads of its files. */
export function sandboxArgs(
  o: Pick<LaunchOptions, "file" | "pluginsDir" | "options" | "limits">,
): string[] {
  return [
    "run",
    "--no-config",
    "--no-lock",
    "--no-remote",
    "--no-npm",
    "--no-prompt",
    `--import-map=${IMPORT_MAP}`,
    `--allow-read=${[o.pluginsDir, SDK_DIR, ...HARNESS_FILES].join(",")}`,
    "--deny-net",
    "--deny-env",
    "--deny-run",
    "--deny-write",
    "--deny-ffi",
    "--deny-sys",
    "--deny-import",
    "--unstable-worker-options",
    `--v8-flags=--max-old-space-size=${o.limits.memoryMb}`,
    RUNNER,
    new URL(`file://${o.file}`).href,
    JSON.stringify(o.options),
    String(rssLimitBytes(o.limits.memoryMb)),
  ];
}

/** Calls written to a plugin and not yet answered, beyond which new calls wait to be merged. */
const IN_FLIGHT = 2;
/** Most orders merged into one call (waiting calls beyond it go in the next one). */
const MERGE_MAX_ORDERS = 4096;

/** One `score()` call of the host's. */
interface Part {
  readonly orders: readonly OrderData[];
  readonly resolve: (reply: ScoreReply) => void;
  readonly reject: (failure: PluginFailure) => void;
}

/** One call written to the plugin: one or more merged parts. */
interface Call {
  readonly id: number;
  readonly n: number;
  readonly parts: readonly Part[];
  readonly deadlineMs: number;
  /** Set when the plugin starts on the call: at the write, or at the reply to the one before. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A plugin running in its own process. Start with {@linkcode SandboxedPlugin.launch}. */
export class SandboxedPlugin implements PluginInstance {
  #o: LaunchOptions;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #log: PluginLog;
  #calls: Call[] = [];
  #waiting: Part[] = [];
  #pending = new Set<Promise<ScoreReply>>();
  #nextId = 1;
  #failure: PluginFailure | undefined;
  #exited: Promise<void>;
  #rss: number | undefined;
  #reports = 0;
  #reportSecond = 0;
  #spec: ScorerSpec | undefined;
  #onLine: (line: string) => void = () => {};

  private constructor(o: LaunchOptions) {
    this.#o = o;
    this.#child = new Deno.Command(DENO_COMMAND, {
      args: sandboxArgs(o),
      clearEnv: true,
      env: { NO_COLOR: "1" },
      // Own session: a terminal's Ctrl-C (SIGINT to the whole foreground process group) must
      // reach the host only, which then drains with its plugins alive; they still end with the
      // host, when their stdin closes.
      detached: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#log = new PluginLog(o.label, o.log, () => this.#fail("flood", "floods its log"));
    this.#readStdout();
    const stderrRead = this.#readStderr();
    // The exit is judged once stderr is read to its end (its last lines say why it died).
    this.#exited = Promise.all([this.#child.status, stderrRead]).then(([status]) =>
      this.#onExit(status)
    );
  }

  /** Starts the process and waits for the plugin to load; rejects with `ScorerLoadError`. */
  static launch(o: LaunchOptions): Promise<SandboxedPlugin> {
    let plugin: SandboxedPlugin;
    try {
      plugin = new SandboxedPlugin(o);
    } catch (error) {
      // Not found on PATH, or not allowed by the run permission (`run: ["deno"]`).
      const why = `cannot start "${DENO_COMMAND}" (${(error as Error).message}); ` +
        `the host starts the deno on PATH and needs permission to run it`;
      return Promise.reject(new ScorerLoadError(o.file, `Cannot load scorer ${o.file}: ${why}`));
    }
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        plugin.close().finally(() =>
          reject(new ScorerLoadError(o.file, `Cannot load scorer ${o.file}: ${why}`))
        );
      };
      const timer = setTimeout(
        () => fail(`it did not load within ${o.loadTimeoutMs} ms`),
        o.loadTimeoutMs,
      );
      plugin.#onLine = (line) => {
        plugin.#onLine = (next) => plugin.#onReply(next);
        try {
          const reply = parseLoadReply(line);
          if (reply.type === "load_error") return fail(reply.message);
          clearTimeout(timer);
          plugin.#spec = reply.spec;
          resolve(plugin);
        } catch (error) {
          fail(`protocol: ${(error as Error).message}`);
        }
      };
      plugin.#exited.then(() => {
        if (plugin.#spec !== undefined) return;
        const why = plugin.#failure?.message ?? "it exited";
        fail(`${why}${plugin.#stderrTail()}`);
      });
    });
  }

  get spec(): ScorerSpec {
    return this.#spec!;
  }

  get alive(): boolean {
    return this.#failure === undefined;
  }

  /**
   * Scores `orders`. The plugin answers calls one at a time, in order, so while `IN_FLIGHT`
   * calls are written and unanswered, new ones wait and go out merged into one call when a
   * reply arrives: they would have waited in the pipe anyway, and one call of n orders costs
   * both processes far less than several that add up to n. Each written call has its own
   * deadline (`deadlineMs`, or the plugin's deadline plus the per-order budget for all its
   * orders), counted from its own start: when it is written if no call is ahead of it, else
   * when the call ahead is answered (the plugin works on one call at a time). A call with its own
   * `deadlineMs` is never merged.
   */
  score(orders: readonly OrderData[], deadlineMs?: number): Promise<ScoreReply> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const call = new Promise<ScoreReply>((resolve, reject) => {
      const part = { orders, resolve, reject };
      if (deadlineMs !== undefined || this.#calls.length < IN_FLIGHT) {
        this.#write([part], deadlineMs);
      } else this.#waiting.push(part);
    });
    this.#pending.add(call);
    call.then(() => this.#pending.delete(call), () => this.#pending.delete(call));
    return call;
  }

  #write(parts: readonly Part[], deadlineMs?: number): void {
    const id = this.#nextId++;
    const orders = parts.length === 1 ? parts[0]!.orders : parts.flatMap((part) => part.orders);
    const deadline = deadlineMs ??
      this.#o.limits.deadlineMs + PER_ORDER_BUDGET_MS * orders.length;
    // Columns of plain OrderData fields (an Order's own JSON is the Kafka shape: unit_price).
    const line = encoder.encode(`{"id":${id},"orders":${JSON.stringify(encodeOrders(orders))}}\n`);
    const call: Call = { id, n: orders.length, parts, deadlineMs: deadline, timer: undefined };
    this.#calls.push(call);
    if (this.#calls.length === 1) this.#startClock(call);
    this.#stdin.write(line).catch(() => this.#fail("crash", "stopped reading its input"));
  }

  #startClock(call: Call): void {
    const { id, deadlineMs } = call;
    call.timer = setTimeout(
      () => this.#fail("timeout", `call ${id} ran past its ${Math.round(deadlineMs)} ms deadline`),
      deadlineMs,
    );
  }

  /** Writes the waiting calls as one call (up to `MERGE_MAX_ORDERS` orders). */
  #writeWaiting(): void {
    let n = 0, take = 0;
    while (take < this.#waiting.length) {
      n += this.#waiting[take]!.orders.length;
      if (take > 0 && n > MERGE_MAX_ORDERS) break;
      take++;
    }
    this.#write(this.#waiting.splice(0, take));
  }

  /** The last resident memory the process reported (see `_runner.ts`). */
  rssBytes(): number | undefined {
    return this.alive ? this.#rss : undefined;
  }

  /** Lets the calls in flight finish (each within its deadline), then stops the process. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    this.#fail("crash", "closed by the host");
    await this.#exited;
  }

  /** Takes a memory report; true when `line` was one. */
  #memoryLine(line: string): boolean {
    if (!line.startsWith(`{"type":"memory"`)) return false;
    const rss = parseMemoryLine(line);
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.#reportSecond) this.#reports = 0;
    this.#reportSecond = second;
    // The relay reports at most every 200 ms (more often only when over its limit, then exits).
    if (++this.#reports > MAX_MEMORY_REPORTS_PER_SECOND) {
      this.#fail("flood", "floods memory reports");
    } else if (rss === undefined) this.#fail("protocol", "sent a malformed memory report");
    else this.#rss = rss;
    return true;
  }

  /** Records the first failure, fails every call in flight, kills the process. */
  #fail(reason: PluginFailure["reason"], why: string): void {
    if (this.#failure !== undefined) return;
    const failure = new PluginFailure(reason, `plugin ${this.#o.label} ${why}`);
    this.#failure = failure;
    const calls = this.#calls;
    const waiting = this.#waiting;
    this.#calls = [];
    this.#waiting = [];
    for (const call of calls) {
      clearTimeout(call.timer);
      for (const part of call.parts) part.reject(failure);
    }
    for (const part of waiting) part.reject(failure);
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
    if (this.#spec !== undefined && why !== "closed by the host") {
      this.#o.onDeath(failure, calls.length === 0);
    }
  }

  #onReply(line: string): void {
    const call = this.#calls[0];
    if (call === undefined) return this.#fail("protocol", "wrote output no call asked for");
    let reply: ScoreReply;
    try {
      reply = parseScoreReply(line, call.id, call.n);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return this.#fail("protocol", `broke the protocol: ${error.message}`);
    }
    this.#calls.shift();
    clearTimeout(call.timer);
    if (this.#calls.length > 0) this.#startClock(this.#calls[0]!);
    if (call.parts.length === 1) call.parts[0]!.resolve(reply);
    else {
      const replies = splitReply(reply, call.parts.map((part) => part.orders.length));
      call.parts.forEach((part, k) => part.resolve(replies[k]!));
    }
    if (this.#waiting.length > 0) this.#writeWaiting();
  }

  /** Splits stdout into lines, never holding more than the current call's reply limit. */
  async #readStdout(): Promise<void> {
    let line = "";
    try {
      for await (const text of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
        for (let from = 0; from < text.length;) {
          const call = this.#calls[0];
          const limit = this.#spec === undefined
            ? LOAD_LIMIT_BYTES
            : call === undefined
            ? MEMORY_LINE_BYTES
            : replyLimitBytes(call.n);
          const newline = text.indexOf("\n", from);
          const end = newline < 0 ? text.length : newline;
          if (line.length + end - from > limit) {
            return this.#fail("protocol", `wrote a reply longer than ${limit} characters`);
          }
          line += text.slice(from, end);
          if (newline < 0) break;
          from = newline + 1;
          const complete = line;
          line = "";
          if (!this.#memoryLine(complete)) this.#onLine(complete);
          if (this.#failure !== undefined) return;
        }
      }
    } catch {
      // the stream ends with the process
    }
  }

  async #readStderr(): Promise<void> {
    try {
      for await (const text of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#log.push(text);
      }
    } catch {
      // the stream ends with the process
    }
    this.#log.end();
  }

  #stderrTail(): string {
    // The error line (Deno's "error: Uncaught …", V8's "Fatal …") over the stack that follows it.
    const lines = this.#log.recent.filter((l) => l.trim() !== "");
    const last = lines.findLast((l) => /^(error: |Uncaught|Fatal|#)/.test(l.trim())) ??
      lines.at(-1);
    return last === undefined ? "" : ` (stderr: ${last.slice(0, 300)})`;
  }

  #onExit(status: Deno.CommandStatus): void {
    // V8 aborts with SIGTRAP (exit 133) when a heap is over --max-old-space-size.
    const oom = status.signal === "SIGTRAP" || status.code === 133 ||
      status.code === RSS_EXIT_CODE ||
      this.#log.recent.some((l) => l.includes("out of memory"));
    const how = status.signal !== null ? `signal ${status.signal}` : `code ${status.code}`;
    if (oom) this.#fail("oom", `ran out of memory (cap ${this.#o.limits.memoryMb} MiB)`);
    else this.#fail("crash", `exited with ${how}${this.#stderrTail()}`);
  }
}
