/**
 * The one row format every benchmark publishes, and the helpers that fill it.
 *
 * Rule: a published figure is written by a bench script, never typed. Each bench writes its rows
 * between {@linkcode ROWS_BEGIN} and {@linkcode ROWS_END} in its own `*.md`; `bench/run_all.ts`
 * copies those blocks into `bench/RESULTS.md` and the README's table between
 * {@linkcode SUMMARY_BEGIN} and {@linkcode SUMMARY_END}; `tests/bench_results_test.ts` fails when
 * the README's table differs from RESULTS.md's. Each row carries what it measures, its baseline
 * (measured in the same run), the ratio, the target, the verdict and the machine's load
 * (1-minute load average before → after the row's measurement: the machine is shared).
 *
 * @module
 */

/** Marks the rows block of a bench's `*.md`. */
export const ROWS_BEGIN = "<!-- rows:begin -->";
/** Ends the rows block of a bench's `*.md`. */
export const ROWS_END = "<!-- rows:end -->";
/** Marks the generated summary in RESULTS.md and README.md. */
export const SUMMARY_BEGIN = "<!-- bench:begin -->";
/** Ends the generated summary in RESULTS.md and README.md. */
export const SUMMARY_END = "<!-- bench:end -->";

/** The header of every rows table (RESULTS.md and the README use the same one). */
export const ROW_HEADER =
  "| row | what it measures | orderflow | baseline (same run) | ratio | target | verdict | load before → after |";
const ROW_SEPARATOR = "|---|---|---|---|---|---|---|---|";

/** One published figure beside its baseline. */
export interface Row {
  /** Short id, e.g. `producer`, `(a)`, `memory peak`. */
  readonly id: string;
  readonly measures: string;
  readonly figure: string;
  readonly baseline: string;
  /** orderflow / baseline, or `-` when the row has no ratio. */
  readonly ratio: string;
  /** The rule, e.g. `≥ 0.8`; `-` for context rows. */
  readonly target: string;
  /** `met`, `MISSED`, `-` (context) or `not measured …`. */
  readonly verdict: string;
  /** 1-minute load average (and CPU/IO pressure) before → after the row's measurement. */
  readonly load: string;
}

/** A table cell: pipes escaped, no line breaks. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replaceAll("|", "\\|");
}

/** The rows as a markdown table with {@linkcode ROW_HEADER}. */
export function rowsTable(rows: readonly Row[]): string {
  return [
    ROW_HEADER,
    ROW_SEPARATOR,
    ...rows.map((r) =>
      "| " +
      [r.id, r.measures, r.figure, r.baseline, r.ratio, r.target, r.verdict, r.load].map(cell)
        .join(" | ") +
      " |"
    ),
  ].join("\n");
}

/** The rows table between the rows markers, as a bench writes it into its `*.md`. */
export function rowsBlock(rows: readonly Row[]): string {
  return `${ROWS_BEGIN}\n${rowsTable(rows)}\n${ROWS_END}`;
}

/** The text between `begin` and `end` in `text` (trimmed), or undefined. */
export function between(text: string, begin: string, end: string): string | undefined {
  const start = text.indexOf(begin);
  if (start < 0) return undefined;
  const stop = text.indexOf(end, start + begin.length);
  if (stop < 0) return undefined;
  return text.slice(start + begin.length, stop).trim();
}

/**
 * The body rows of every markdown table in `text`, as trimmed cells, and every paragraph with
 * its whitespace collapsed. Two blocks that differ only in `deno fmt`'s table padding and line
 * wrapping give the same result: that is how the README's table is compared with RESULTS.md's.
 */
export function normalizedLines(text: string): string[] {
  const out: string[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length > 0) out.push(paragraph.join(" ").replace(/\s+/g, " "));
    paragraph = [];
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") {
      flush();
    } else if (line.startsWith("|")) {
      flush();
      const cells = line.slice(1, line.endsWith("|") ? -1 : undefined).split(/(?<!\\)\|/)
        .map((c) => c.trim());
      if (cells.every((c) => /^:?-+:?$/.test(c))) continue; // separator row
      out.push(cells.join(" | "));
    } else {
      paragraph.push(line);
    }
  }
  flush();
  return out;
}

/** `met`/`MISSED` for `value` against `target` (at least, or at most). */
export function verdict(value: number, target: number, atLeast = true): string {
  if (!Number.isFinite(value)) return "not measured";
  return (atLeast ? value >= target : value <= target) ? "met" : "MISSED";
}

/** A ratio with two decimals, `-` when it cannot be computed. */
export function ratio(a: number, b: number): string {
  const r = a / b;
  return Number.isFinite(r) ? r.toFixed(2) : "-";
}

const decoder = new TextDecoder();

/** The machine's load at one moment. */
export interface Load {
  /** 1-minute load average. */
  readonly avg1: number;
  /** Share (%) of the last 10 s in which some task waited for a CPU (PSI), when available. */
  readonly cpuStall?: number;
  /** The same for I/O. */
  readonly ioStall?: number;
}

/** The load now. Read with `cat`: Deno wants --allow-all to read /proc itself. */
export async function loadNow(): Promise<Load> {
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      "cut -d' ' -f1 /proc/loadavg; " +
      "sed -n 's/^some avg10=\\([0-9.]*\\).*/\\1/p' /proc/pressure/cpu 2>/dev/null || echo; " +
      "sed -n 's/^some avg10=\\([0-9.]*\\).*/\\1/p' /proc/pressure/io 2>/dev/null || echo",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const [avg1, cpu, io] = decoder.decode(out.stdout).split("\n").map((l) => l.trim());
  return {
    avg1: Number(avg1 || NaN),
    ...(cpu ? { cpuStall: Number(cpu) } : {}),
    ...(io ? { ioStall: Number(io) } : {}),
  };
}

/** `0.69 → 2.34 (cpu stall 12 → 26 %, io stall 0 → 0 %)`. */
export function loadSpan(before: Load, after: Load): string {
  const pct = (a?: number, b?: number) =>
    a === undefined || b === undefined ? undefined : `${a.toFixed(0)} → ${b.toFixed(0)} %`;
  const cpu = pct(before.cpuStall, after.cpuStall);
  const io = pct(before.ioStall, after.ioStall);
  const stalls = [cpu && `cpu stall ${cpu}`, io && `io stall ${io}`].filter(Boolean);
  return `${before.avg1.toFixed(2)} → ${after.avg1.toFixed(2)}` +
    (stalls.length > 0 ? ` (${stalls.join(", ")})` : "");
}

/** Runs `f` and returns its result with the load before → after it. */
export async function withLoad<T>(f: () => Promise<T>): Promise<{ value: T; load: string }> {
  const before = await loadNow();
  const value = await f();
  return { value, load: loadSpan(before, await loadNow()) };
}

/**
 * Resident set size in KiB of `root` and every process below it (children, grandchildren…),
 * from one `ps` snapshot (which reads /proc; Deno wants --allow-all to read /proc itself).
 * Plugin sandboxes that are subprocesses count; workers are threads, already in the root's RSS.
 */
export async function treeRssKb(root: number): Promise<{ kb: number; processes: number }> {
  const out = await new Deno.Command("ps", {
    args: ["-e", "-o", "pid=,ppid=,rss="],
    stdout: "piped",
    stderr: "null",
  }).output();
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const line of decoder.decode(out.stdout).split("\n")) {
    const [pid, ppid, kb] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || kb === undefined || !Number.isFinite(kb)) {
      continue;
    }
    rss.set(pid, kb);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  if (!rss.has(root)) return { kb: NaN, processes: 0 };
  let kb = 0;
  let processes = 0;
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    kb += rss.get(pid) ?? 0;
    processes++;
    todo.push(...(children.get(pid) ?? []));
  }
  return { kb, processes };
}

/** The `q` quantile (nearest rank) of `xs`. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Run stamp given by `deno task bench` to the benches it starts (`BENCH_RUN`), else standalone. */
export function runStamp(): string {
  try {
    return Deno.env.get("BENCH_RUN") ?? `standalone run ${new Date().toISOString()}`;
  } catch {
    return `standalone run ${new Date().toISOString()}`;
  }
}
