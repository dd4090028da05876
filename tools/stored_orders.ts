/**
 * Reads what the local sink stored (`<dir>/orders/dt=YYYY-MM-DD/orderId=<id>.json`, the
 * per-order layout): counting files for progress, and loading them for reports and tests.
 *
 * @module
 */

/** One stored order file: its object key (relative to the sink dir) and parsed JSON. */
export interface StoredOrder {
  /** `orders/dt=YYYY-MM-DD/orderId=<id>.json`. */
  readonly key: string;
  /** The partition value from the key (`YYYY-MM-DD`). */
  readonly dt: string;
  /** The enriched order as stored (`JSON.parse` of the file). */
  readonly body: Readonly<Record<string, unknown>>;
}

const DT_DIR = /^dt=(\d{4}-\d{2}-\d{2})$/;
const ORDER_FILE = /^orderId=[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.json$/;

async function* orderFiles(dir: string): AsyncGenerator<{ key: string; dt: string; path: string }> {
  const root = `${dir.replace(/\/+$/, "")}/orders`;
  let days: Deno.DirEntry[];
  try {
    days = await Array.fromAsync(Deno.readDir(root));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  days.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const day of days) {
    const m = DT_DIR.exec(day.name);
    if (!day.isDirectory || m === null) continue;
    const names: string[] = [];
    for await (const entry of Deno.readDir(`${root}/${day.name}`)) {
      // Temp files of in-progress atomic writes start with "." and never match.
      if (entry.isFile && ORDER_FILE.test(entry.name)) names.push(entry.name);
    }
    names.sort();
    for (const name of names) {
      yield { key: `orders/${day.name}/${name}`, dt: m[1]!, path: `${root}/${day.name}/${name}` };
    }
  }
}

/**
 * Counts the order files under `<dir>/orders/dt=*` (0 when the directory does not exist yet).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { countStoredOrders } from "./stored_orders.ts";
 * equal(await countStoredOrders("./no-such-dir"), 0);
 * ```
 */
export async function countStoredOrders(dir: string): Promise<number> {
  let n = 0;
  for await (const _ of orderFiles(dir)) n++;
  return n;
}

/**
 * Loads every stored order under `dir`, sorted by key. Throws `SyntaxError` naming the file
 * when one is not valid JSON.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { readStoredOrders } from "./stored_orders.ts";
 * deepEqual(await readStoredOrders("./no-such-dir"), []);
 * ```
 */
export async function readStoredOrders(dir: string): Promise<readonly StoredOrder[]> {
  const out: StoredOrder[] = [];
  for await (const file of orderFiles(dir)) {
    const text = await Deno.readTextFile(file.path);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new SyntaxError(`Cannot parse stored order ${file.path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new SyntaxError(`Cannot read stored order ${file.path}: not a JSON object`);
    }
    out.push(Object.freeze({ key: file.key, dt: file.dt, body: body as Record<string, unknown> }));
  }
  return Object.freeze(out);
}
