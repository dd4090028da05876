/**
 * Renders query results (column names + JSON-safe rows) as an aligned text table, CSV or JSON.
 *
 * @module
 */

/** A JSON-safe cell as DuckDB's `getRowsJson()` returns it. */
export type Cell = string | number | boolean | null | readonly Cell[] | {
  readonly [k: string]: Cell;
};

/** Column names and rows of one result. */
export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

function text(cell: Cell): string {
  if (cell === null) return "NULL";
  if (typeof cell === "string") return cell;
  if (typeof cell === "number" || typeof cell === "boolean") return String(cell);
  return JSON.stringify(cell);
}

/** Whether a cell reads as a number (right-aligned in tables). */
function numeric(cell: Cell): boolean {
  return typeof cell === "number" || (typeof cell === "string" && /^-?\d+(\.\d+)?$/.test(cell));
}

/**
 * An aligned table: a header, a rule, one line per row (numbers right-aligned), and a
 * `(N rows)` footer.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { formatTable } from "./query_format.ts";
 * equal(
 *   formatTable({ columns: ["channel", "n"], rows: [["web", "12"], ["mobile", 3]] }),
 *   "channel   n\n-------  --\nweb      12\nmobile    3\n(2 rows)",
 * );
 * ```
 */
export function formatTable(result: QueryResult): string {
  const cells = result.rows.map((row) => row.map(text));
  const widths = result.columns.map((c, i) =>
    Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0))
  );
  const right = result.columns.map((_, i) =>
    result.rows.length > 0 && result.rows.every((row) => row[i] === null || numeric(row[i]!))
  );
  const line = (values: readonly string[]) =>
    values.map((v, i) => right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)).join("  ")
      .trimEnd();
  const n = result.rows.length;
  return [
    line(result.columns),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.map(line),
    `(${n} ${n === 1 ? "row" : "rows"})`,
  ].join("\n");
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * RFC 4180 CSV with a header line (NULL as an empty field, nested values as JSON).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { formatCsv } from "./query_format.ts";
 * equal(formatCsv({ columns: ["a", "b"], rows: [["x,y", null]] }), 'a,b\n"x,y",\n');
 * ```
 */
export function formatCsv(result: QueryResult): string {
  const line = (values: readonly string[]) => values.map(csvField).join(",") + "\n";
  return line(result.columns) +
    result.rows.map((row) => line(row.map((c) => c === null ? "" : text(c)))).join("");
}

/**
 * A JSON array of row objects keyed by column name.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { formatJson } from "./query_format.ts";
 * deepEqual(JSON.parse(formatJson({ columns: ["a"], rows: [[1], [2]] })), [{ a: 1 }, { a: 2 }]);
 * ```
 */
export function formatJson(result: QueryResult): string {
  const objects = result.rows.map((row) =>
    Object.fromEntries(result.columns.map((c, i) => [c, row[i] ?? null]))
  );
  return JSON.stringify(objects, null, 2);
}
