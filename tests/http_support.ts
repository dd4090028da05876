/**
 * Helpers for the HTTP tests: a strict Prometheus text-format (0.0.4) parser, a free port and
 * polling an endpoint.
 *
 * @module
 */

/** One parsed sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: TYPE, HELP and its samples. */
export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Record<string, readonly string[]> = {
  counter: [""],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

function parseValue(text: string, line: number): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new SyntaxError(`Cannot parse value "${text}" on line ${line}`);
  }
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL.exec(rest);
    if (m === null) throw new SyntaxError(`Cannot parse labels "${text}" on line ${line}`);
    if (m[1]! in labels) throw new SyntaxError(`Duplicate label ${m[1]} on line ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c) => c === "n" ? "\n" : c);
    rest = rest.slice(m[0].length);
  }
  return labels;
}

/**
 * Parses Prometheus text exposition strictly: every sample belongs to a family declared by a
 * preceding `# TYPE`, names and labels are well-formed, no series appears twice, the text ends
 * with a newline. Throws SyntaxError otherwise.
 */
export function parsePrometheus(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith("\n")) throw new SyntaxError("Text must end with \\n");
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.startsWith("# HELP ") || raw.startsWith("# TYPE ")) {
      const [, kind, name, ...rest] = raw.split(" ");
      if (name === undefined || !NAME.test(name)) {
        throw new SyntaxError(`Bad metric name on line ${line}`);
      }
      let family = families.get(name);
      if (family === undefined) {
        if (kind === "TYPE" && current?.name !== name && families.has(name)) {
          throw new SyntaxError(`Family ${name} declared twice (line ${line})`);
        }
        family = { name, type: "untyped", help: "", samples: [] };
        families.set(name, family);
      } else if (family.samples.length > 0) {
        throw new SyntaxError(`${kind} for ${name} after its samples (line ${line})`);
      }
      if (kind === "TYPE") {
        const type = rest.join(" ");
        if (!TYPES.has(type)) throw new SyntaxError(`Unknown type "${type}" on line ${line}`);
        (family as { type: string }).type = type;
      } else {
        (family as { help: string }).help = rest.join(" ");
      }
      current = family;
      return;
    }
    if (raw.startsWith("#") || raw === "") return;
    const m = SAMPLE.exec(raw);
    if (m === null) throw new SyntaxError(`Cannot parse line ${line}: ${raw}`);
    const name = m[1]!;
    if (current === undefined || !name.startsWith(current.name)) {
      throw new SyntaxError(`Sample ${name} outside its family (line ${line})`);
    }
    const suffix = name.slice(current.name.length);
    if (!SUFFIXES[current.type]!.includes(suffix)) {
      throw new SyntaxError(`Sample ${name} does not fit ${current.type} ${current.name}`);
    }
    const labels = parseLabels(m[3] ?? "", line);
    if (current.type === "histogram" && suffix === "_bucket" && !("le" in labels)) {
      throw new SyntaxError(`Bucket without le on line ${line}`);
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new SyntaxError(`Duplicate series ${key} on line ${line}`);
    seen.add(key);
    current.samples.push({ name, labels, value: parseValue(m[4]!, line) });
  });
  return families;
}

/** The value of one series (labels must match exactly), or undefined. */
export function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const a = Object.entries(s.labels).filter(([k]) => k !== "le" || "le" in labels).sort();
      const b = Object.entries(labels).sort();
      if (JSON.stringify(a) === JSON.stringify(b)) return s.value;
    }
  }
  return undefined;
}

/**
 * Checks histogram invariants: buckets in increasing `le` order end with `+Inf`, counts are
 * cumulative (non-decreasing), `+Inf` equals `_count`, `_sum` is finite and >= 0.
 * Returns `{ count, sum }`.
 */
export function checkHistogram(family: Family): { count: number; sum: number } {
  if (family.type !== "histogram") throw new TypeError(`${family.name} is not a histogram`);
  const buckets = family.samples.filter((s) => s.name.endsWith("_bucket"));
  let lastLe = -Infinity;
  let lastCount = 0;
  for (const b of buckets) {
    const le = b.labels.le === "+Inf" ? Infinity : Number(b.labels.le);
    if (!(le > lastLe)) throw new RangeError(`${family.name}: le not increasing at ${b.labels.le}`);
    if (b.value < lastCount) throw new RangeError(`${family.name}: bucket le=${b.labels.le} drops`);
    lastLe = le;
    lastCount = b.value;
  }
  if (lastLe !== Infinity) throw new RangeError(`${family.name}: no +Inf bucket`);
  const count = family.samples.find((s) => s.name === `${family.name}_count`)?.value;
  const sum = family.samples.find((s) => s.name === `${family.name}_sum`)?.value;
  if (count !== lastCount) {
    throw new RangeError(`${family.name}: +Inf ${lastCount} != count ${count}`);
  }
  if (sum === undefined || !Number.isFinite(sum) || sum < 0) {
    throw new RangeError(`${family.name}: bad sum ${sum}`);
  }
  return { count, sum };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** GETs a URL; returns status and body text (network errors → status 0). */
export async function getText(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}
