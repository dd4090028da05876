/**
 * Copies the order objects of a COS (S3) bucket (per-order files and batched segments) into a
 * local directory, so DuckDB can query
 * them without its `httpfs` extension (which it downloads from extensions.duckdb.org at runtime
 * and which is not on npm). Incremental: an object whose local copy has the same size is skipped.
 *
 * @module
 */
import type { CosClient } from "../config/cos.ts";
import { parseSegmentKey } from "../consumer/sinks/segment_key.ts";

/** What {@linkcode mirrorOrders} did. */
export interface MirrorResult {
  /** Order objects listed in the bucket. */
  readonly listed: number;
  /** Objects downloaded (new or changed size). */
  readonly downloaded: number;
}

const ORDER_KEY = /^orders\/dt=\d{4}-\d{2}-\d{2}\/orderId=[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.json$/;

/** Keys of either layout; anything else never becomes a local path. */
function isOrderKey(key: string): boolean {
  return ORDER_KEY.test(key) || parseSegmentKey(key)?.root === "";
}

async function localSize(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Mirrors `orders/dt=*\/orderId=*.json` and `orders/dt=*\/part=*\/offset=*.ndjson` from `bucket`
 * into `<dir>/orders/...`. Other keys are ignored (they never become local paths).
 *
 * @example
 * ```ts ignore
 * const result = await mirrorOrders(createCosClient(settings.cos), "orderflow", "./data/cos-mirror/orderflow");
 * ```
 */
export async function mirrorOrders(
  client: CosClient,
  bucket: string,
  dir: string,
  options: { readonly concurrency?: number; readonly onProgress?: (done: number) => void } = {},
): Promise<MirrorResult> {
  const wanted: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await client.listObjectsV2({
      Bucket: bucket,
      Prefix: "orders/",
      ...(token === undefined ? {} : { ContinuationToken: token }),
    }).promise();
    for (const object of page.Contents ?? []) {
      if (object.Key !== undefined && isOrderKey(object.Key)) {
        wanted.push({ key: object.Key, size: object.Size ?? -1 });
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);

  let next = 0;
  let downloaded = 0;
  let done = 0;
  const made = new Set<string>();
  async function worker(): Promise<void> {
    while (next < wanted.length) {
      const { key, size } = wanted[next++]!;
      const path = `${dir}/${key}`;
      if (await localSize(path) !== size) {
        const object = await client.getObject({ Bucket: bucket, Key: key }).promise();
        const folder = path.slice(0, path.lastIndexOf("/"));
        if (!made.has(folder)) {
          await Deno.mkdir(folder, { recursive: true });
          made.add(folder);
        }
        const body: unknown = object.Body;
        let bytes: Uint8Array;
        if (body instanceof Uint8Array) bytes = body;
        else if (typeof body === "string") bytes = new TextEncoder().encode(body);
        else throw new TypeError(`Cannot mirror ${key}: unexpected body type ${typeof body}`);
        const tmp = `${path}.tmp`;
        await Deno.writeFile(tmp, bytes);
        await Deno.rename(tmp, path);
        downloaded++;
      }
      options.onProgress?.(++done);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
  return Object.freeze({ listed: wanted.length, downloaded });
}
