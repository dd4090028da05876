/**
 * `deno task query "<SQL>"`: SQL over the stored orders with DuckDB.
 *
 * A view `orders` reads every `orders/dt=YYYY-MM-DD/orderId=<id>.json` (per-order layout) and
 * every `orders/dt=YYYY-MM-DD/part=<p>/offset=<first>-<last>.ndjson` the batched layout's read
 * rule selects, with `hive_partitioning=true`, so `dt` is a DATE column and `WHERE dt = ...`
 * skips the other days' files. With `SINK=cos` (or `--cos`) the bucket's order objects are first mirrored into
 * `./data/cos-mirror/<bucket>` (DuckDB's httpfs extension is downloaded at runtime from
 * extensions.duckdb.org and is not available offline).
 *
 * DuckDB runs through FFI (`--allow-ffi` is full access), so this tool has its own permission
 * set and nothing else in orderflow loads it.
 *
 * @module
 */
import { EXIT, parseFlags, runTask, settingsOrUsage, UsageError } from "../cli/usage.ts";
import { DuckDBInstance } from "@duckdb/node-api";
import { createCosClient, describeCosError } from "../clients/cos.ts";
import { loadSettings, type Settings } from "../config/settings.ts";
import { delay } from "../core/async.ts";
import { readableSegments } from "../consumer/sinks/segment_key.ts";
import { mirrorOrders } from "./cos_mirror.ts";
import { type Cell, formatCsv, formatJson, formatTable, type QueryResult } from "./query_format.ts";

const HELP = `Usage: deno task query [options] "<SQL>"

Runs SQL with DuckDB over the stored orders: a view "orders" with every field of the stored JSON
(orderId, customerId, channel, items, total, currency, created_at, produced_at, consumed_at,
latency_ms, risk_score, edge_risk_score, scorer) plus dt (DATE, from the dt= folder; filtering on
it skips files; edge_risk_score is the producer's --score: NULL for orders without one, and no
such column while no stored order has one)
and, for the batched layout, part (the Kafka partition). Of the versions of a batched segment,
only the one with the most records is read, so no order is counted twice.

Source (default: the sink in the environment / .env: SINK_DIR, or the COS bucket when SINK=cos):
  --dir DIR      query the orders stored under DIR (e.g. the folder "deno task demo" printed)
  --cos          mirror the COS bucket's orders into ./data/cos-mirror/<bucket>, then query that
Output:
  --json         a JSON array of row objects
  --csv          CSV with a header line
  -h, --help     show this help

Examples:
  deno task query "SELECT dt, count(*) AS orders, round(sum(total), 2) AS revenue FROM orders GROUP BY dt ORDER BY dt"
  deno task query --dir ./data/demo-20261126-204324 "SELECT * FROM orders ORDER BY risk_score DESC LIMIT 5"
Exit codes: 0 ok, 1 query or source failed, 2 bad arguments or settings.`;

/** A runtime failure explained to the user (exit 1); usage errors are `UsageError`s (exit 2). */
class QueryToolError extends Error {
  override name = "QueryToolError";
  /** What to do about it. */
  readonly remedy: string;
  constructor(message: string, remedy: string, options?: ErrorOptions) {
    super(message, options);
    this.remedy = remedy;
  }
}

/** SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** What `<dir>/orders` holds: per-order files, and the segment files the read rule selects. */
interface Sources {
  readonly perOrder: boolean;
  /** Paths of the batched layout's segment objects to read (superseded versions left out). */
  readonly segments: readonly string[];
}

async function findSources(dir: string): Promise<Sources> {
  const root = dir.replace(/\/+$/, "");
  let perOrder = false;
  const keys: string[] = [];
  try {
    for await (const day of Deno.readDir(`${root}/orders`)) {
      if (!day.isDirectory || !day.name.startsWith("dt=")) continue;
      for await (const entry of Deno.readDir(`${root}/orders/${day.name}`)) {
        if (entry.isFile && entry.name.startsWith("orderId=") && entry.name.endsWith(".json")) {
          perOrder = true;
        } else if (entry.isDirectory && entry.name.startsWith("part=")) {
          for await (const file of Deno.readDir(`${root}/orders/${day.name}/${entry.name}`)) {
            if (file.isFile) keys.push(`orders/${day.name}/${entry.name}/${file.name}`);
          }
        }
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return { perOrder, segments: readableSegments(keys).map((s) => `${root}/${s.key}`) };
}

async function cosDir(settings: Settings): Promise<string> {
  if (settings.sink.kind !== "cos") {
    throw new UsageError(
      "Cannot query COS: SINK is not cos, so COS_ENDPOINT / COS_BUCKET are not configured",
      {
        remedy: "Set SINK=cos and the COS_* variables (see README, IBM Cloud setup), or use --dir.",
      },
    );
  }
  const cos = settings.sink.cos;
  const dir = `./data/cos-mirror/${cos.bucket}`;
  const client = createCosClient(cos);
  console.error(`query: mirroring orders from ${cos.endpoint}/${cos.bucket} into ${dir} ...`);
  try {
    const result = await mirrorOrders(client, cos.bucket, dir);
    console.error(
      `query: ${result.listed} order objects, ${result.downloaded} downloaded ` +
        `(${result.listed - result.downloaded} already local)`,
    );
  } catch (error) {
    const d = describeCosError(error, cos);
    throw new QueryToolError(`Cannot mirror the COS bucket: ${d.message}`, d.remedy, {
      cause: error,
    });
  }
  return dir;
}

/**
 * Runs `sql` against a view `orders` over what `dir` holds: per-order files
 * (`orders/dt=*\/orderId=*.json`) and the batched layout's NDJSON segments (`part` column; of
 * the versions of a segment, only the greatest is read). Returns the columns and JSON-safe rows
 * (BIGINT and DECIMAL as strings, DATE/TIMESTAMP as ISO text).
 */
export async function queryOrders(dir: string, sql: string): Promise<QueryResult> {
  // A consumer writing into `dir` removes a segment's smaller versions: one listed a moment ago
  // may be gone when DuckDB opens it. List again and retry; a greater version replaced it. On a
  // loaded machine several attempts in a row can lose that race, so there are many, spaced out.
  for (let attempt = 1;; attempt++) {
    try {
      return await queryOnce(dir, sql);
    } catch (error) {
      if (attempt >= 20 || !/No files found|No such file/i.test(String(error))) throw error;
      await delay(Math.min(attempt * 10, 100));
    }
  }
}

async function queryOnce(dir: string, sql: string): Promise<QueryResult> {
  const sources = await findSources(dir);
  const selects: string[] = [];
  if (sources.perOrder) {
    const glob = `${dir.replace(/\/+$/, "")}/orders/dt=*/orderId=*.json`;
    selects.push(
      `SELECT * FROM read_json_auto(${
        literal(glob)
      }, hive_partitioning = true, union_by_name = true)`,
    );
  }
  if (sources.segments.length > 0) {
    selects.push(
      `SELECT * FROM read_json_auto([${
        sources.segments.map(literal).join(", ")
      }], format = 'newline_delimited', hive_partitioning = true, union_by_name = true)`,
    );
  }
  if (selects.length === 0) throw new RangeError(`Cannot query ${dir}: no stored orders`);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE VIEW orders AS ${selects.join(" UNION ALL BY NAME ")}`);
    const reader = await connection.runAndReadAll(sql);
    return Object.freeze({
      columns: reader.columnNames(),
      rows: reader.getRowsJson() as unknown as readonly (readonly Cell[])[],
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function main(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    string: ["dir"],
    boolean: ["cos", "json", "csv"],
    positionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1 || positionals[0]!.trim() === "") {
    throw new UsageError(
      `Cannot run a query: expected one SQL argument, got ${positionals.length}`,
      { remedy: 'Quote the SQL: deno task query "SELECT count(*) FROM orders"' },
    );
  }
  if (values.json && values.csv) {
    throw new UsageError("Cannot use --json with --csv", { remedy: "Pick one output format." });
  }
  if (values.dir !== undefined && values.cos) {
    throw new UsageError("Cannot use --dir with --cos", { remedy: "Pick one source." });
  }
  try {
    let dir = values.dir;
    if (dir === undefined) {
      const settings = settingsOrUsage(() => loadSettings(Deno.env.toObject()));
      if (values.cos || settings.sink.kind === "cos") dir = await cosDir(settings);
      else dir = settings.sink.dir;
    }
    const sources = await findSources(dir);
    if (!sources.perOrder && sources.segments.length === 0) {
      throw new QueryToolError(
        `Cannot query ${dir}: no stored orders (${dir}/orders/dt=*/orderId=*.json or ` +
          `${dir}/orders/dt=*/part=*/offset=*.ndjson)`,
        "Run `deno task demo` (it prints its --dir), or point --dir / SINK_DIR at a sink " +
          "directory.",
      );
    }
    let result: QueryResult;
    try {
      result = await queryOrders(dir, positionals[0]!);
    } catch (error) {
      throw new QueryToolError(
        `Cannot run the query: ${(error as Error).message}`,
        'Check the SQL; "DESCRIBE orders" lists the columns.',
        { cause: error },
      );
    }
    console.log(
      values.json ? formatJson(result) : values.csv ? formatCsv(result) : formatTable(result),
    );
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof QueryToolError)) throw error;
    console.error(`query: ${error.message}\n${error.remedy}`);
    return EXIT.failure;
  }
}

if (import.meta.main) {
  Deno.exit(await runTask("query", () => main(Deno.args)));
}
