/**
 * Helpers for the fault suite (`tests/fault_*_test.ts`): run sizes (CI by default, full with
 * `SOAK=1`), a seeded random source, the producer CLI as a subprocess with its per-record
 * accounting, and the reconciliation every fault run ends with: produced = stored + dead-lettered.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type DlqRecord, produce, readDlq, type Scenario } from "./consumer_support.ts";

/** True when the full-size soak run was asked for (`SOAK=1`, `deno task soak`). */
export function soak(): boolean {
  return Deno.env.get("SOAK") === "1";
}

/** `ci` by default, `full` under `SOAK=1`. */
export function sized<T>(ci: T, full: T): T {
  return soak() ? full : ci;
}

/**
 * A seeded PRNG (mulberry32) returning floats in [0, 1): the same seed, the same kill moments.
 *
 * @example
 * ```ts
 * import { seeded } from "./fault_support.ts";
 * import assert from "node:assert/strict";
 *
 * const a = seeded(7), b = seeded(7);
 * assert.equal(a(), b());
 * ```
 */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One line of the producer's `--deliveries` output. */
export interface Delivery {
  readonly status: "acked" | "failed";
  readonly key: string | null;
  readonly partition?: number;
  readonly offset?: string;
  readonly error?: string;
}

/** What a producer CLI run reported. */
export interface ProducerRun {
  readonly code: number;
  readonly deliveries: readonly Delivery[];
  /** The `--json` summary (sent, acked, failed, invalid, ...). */
  readonly summary: Readonly<Record<string, unknown>>;
  readonly stderr: string;
}

/** A producer CLI subprocess (`deno run -P=produce producer/main.ts`). */
export class ProducerProcess {
  readonly child: Deno.ChildProcess;
  readonly #result: Promise<ProducerRun>;

  constructor(env: Record<string, string>, args: readonly string[], stdin?: string) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-P=produce",
        "producer/main.ts",
        "--deliveries",
        "--json",
        "--progress-interval",
        "2",
        ...args,
      ],
      env,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const writer = this.child.stdin.getWriter();
      void writer.write(new TextEncoder().encode(stdin)).then(() => writer.close());
    }
    this.#result = this.child.output().then((out) => {
      const deliveries: Delivery[] = [];
      let summary: Record<string, unknown> = {};
      for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
        if (line.trim() === "") continue;
        const json = JSON.parse(line) as Record<string, unknown>;
        if (json.status === "acked" || json.status === "failed") {
          deliveries.push(json as unknown as Delivery);
        } else summary = json;
      }
      return {
        code: out.code,
        deliveries,
        summary,
        stderr: new TextDecoder().decode(out.stderr),
      };
    });
  }

  /** Waits for the producer to exit and parses what it printed. */
  result(): Promise<ProducerRun> {
    return this.#result;
  }
}

/** PLAINTEXT env for subprocesses against the local broker, no HTTP server. */
export function plaintextEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: "localhost:9092",
    KAFKA_SECURITY_PROTOCOL: "PLAINTEXT",
    HTTP_PORT: "0",
    LOG_LEVEL: "info",
    ...extra,
  };
}

/** Order IDs stored under a local sink dir (per-order layout), from file names only. */
export function storedIds(dir: string): Set<string> {
  const out = new Set<string>();
  let dts: Deno.DirEntry[];
  try {
    dts = [...Deno.readDirSync(`${dir}/orders`)];
  } catch {
    return out;
  }
  for (const d of dts) {
    for (const f of Deno.readDirSync(`${dir}/orders/${d.name}`)) {
      const m = /^orderId=(.+)\.json$/.exec(f.name);
      if (m !== null) out.add(m[1]!);
    }
  }
  return out;
}

/** What a local per-order sink dir holds, read in full by {@linkcode checkedLocal}. */
export interface CheckedLocal {
  /** Order IDs stored under their final names, each checked. */
  readonly ids: Set<string>;
  /** Temp files left by a killed writer (hidden `.orderId=<id>.json.<hex>.tmp` names). */
  readonly tempFiles: readonly string[];
}

/**
 * Reads every file under `<dir>/orders` and fails unless each visible one — every name readers
 * take (`dt=YYYY-MM-DD/orderId=<id>.json`) — is a complete order: valid JSON whose `orderId` is
 * the name's and whose `created_at` date is the folder's. The only other files allowed are the
 * sink's hidden temp files (a writer killed before its rename leaves one; no reader globs them).
 */
export async function checkedLocal(dir: string): Promise<CheckedLocal> {
  const ids = new Set<string>();
  const tempFiles: string[] = [];
  let dts: Deno.DirEntry[];
  try {
    dts = [...Deno.readDirSync(`${dir}/orders`)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { ids, tempFiles };
    throw error;
  }
  for (const d of dts) {
    const dt = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(d.name)?.[1];
    assert.ok(d.isDirectory && dt !== undefined, `unexpected entry orders/${d.name}`);
    for (const f of Deno.readDirSync(`${dir}/orders/${d.name}`)) {
      const path = `orders/${d.name}/${f.name}`;
      if (/^\.orderId=.+\.json\.[0-9a-f]+\.tmp$/.test(f.name)) {
        tempFiles.push(path);
        continue;
      }
      const id = /^orderId=(.+)\.json$/.exec(f.name)?.[1];
      assert.ok(f.isFile && id !== undefined, `unexpected file ${path}`);
      const text = await Deno.readTextFile(`${dir}/${path}`);
      let body: { orderId?: unknown; created_at?: unknown };
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new SyntaxError(`${path} is not valid JSON (${text.length} bytes)`, { cause: error });
      }
      assert.equal(body.orderId, id, `${path} holds the order its name says`);
      assert.equal(
        new Date(String(body.created_at)).toISOString().slice(0, 10),
        dt,
        `${path}: created_at is in the folder's day`,
      );
      ids.add(id);
    }
  }
  return { ids, tempFiles };
}

/** Bad records (one per kind that the fault runs sprinkle in); the DLQ must get every one. */
export function badSprinkle(tag: string): { key: string | null; value: string }[] {
  return [
    { key: `${tag}-json`, value: "{not json" },
    { key: `${tag}-type`, value: JSON.stringify({ orderId: `${tag}-type`, total: "12" }) },
    { key: `${tag}-dots`, value: JSON.stringify({ orderId: "../etc/passwd" }) },
    { key: null, value: "" },
    { key: `${tag}-arr`, value: "[1,2,3]" },
  ];
}

/** Produces {@linkcode badSprinkle} records raw with kafkajs; returns how many. */
export async function sprinkleBad(topic: string, tag: string): Promise<number> {
  const bad = badSprinkle(tag);
  await produce(topic, bad);
  return bad.length;
}

/** Distinct `(dlq.source.partition, dlq.source.offset)` of DLQ records (replays are allowed). */
export function distinctSources(records: readonly DlqRecord[]): Map<string, DlqRecord> {
  const out = new Map<string, DlqRecord>();
  for (const r of records) {
    const src = `${r.headers["dlq.source.partition"]}/${r.headers["dlq.source.offset"]}`;
    out.set(src, r);
  }
  return out;
}

/**
 * The reconciliation every fault run ends with: the stored IDs are exactly the valid produced
 * IDs, the DLQ holds exactly `bad` distinct source records, and produced = stored + dead-lettered.
 * Without `stored`, reads the scenario's local sink dir with {@linkcode checkedLocal} (contents
 * checked, no visible partial file).
 */
export async function reconcile(
  s: Scenario,
  validIds: ReadonlySet<string>,
  bad: number,
  given?: ReadonlySet<string>,
): Promise<{ stored: number; deadLettered: number; dlqRecords: number; tempFiles: number }> {
  let stored: ReadonlySet<string>;
  let tempFiles = 0;
  if (given === undefined) {
    const local = await checkedLocal(s.dir);
    stored = local.ids;
    tempFiles = local.tempFiles.length;
  } else stored = given;
  const missing = [...validIds].filter((id) => !stored.has(id));
  const extra = [...stored].filter((id) => !validIds.has(id));
  assert.deepEqual(
    { missing: missing.slice(0, 10), missingCount: missing.length, extra: extra.slice(0, 10) },
    { missing: [], missingCount: 0, extra: [] },
    "stored keys == produced valid IDs",
  );
  const dlq = await readDlq(s.dlq);
  const distinct = distinctSources(dlq);
  assert.equal(distinct.size, bad, "every bad record dead-lettered (distinct source offsets)");
  assert.equal(validIds.size + bad, stored.size + distinct.size, "produced = stored + DLQ");
  return { stored: stored.size, deadLettered: distinct.size, dlqRecords: dlq.length, tempFiles };
}
