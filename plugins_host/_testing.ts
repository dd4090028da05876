/**
 * Private test helpers: temporary plugin directories with real and hostile scorer files.
 *
 * @module
 */
import type { OrderData } from "../core/order.ts";

/** Load timeout for hosts in tests: generous, since test machines are shared and busy. */
export const LOAD_TIMEOUT_MS = 30_000;

/** The repo's real `plugins/` directory. */
export const REAL_PLUGINS_DIR: string = new URL("../plugins/", import.meta.url).pathname;

/** A valid order for `channel` with `total`. */
export function order(channel: string, total: number, id = `o-${channel}-${total}`): OrderData {
  return Object.freeze({
    orderId: id,
    customerId: "cust-1",
    channel,
    items: Object.freeze([Object.freeze({ sku: "SKU-1", quantity: 1, unitPrice: total })]),
    total,
    currency: "USD",
    createdAt: "2026-11-26T20:00:00.000Z",
  });
}

/**
 * Source of a scorer plugin for `channel` whose score body is `body` (an expression or block
 * using `order`); `prelude` is code before it.
 */
export function scorerSource(channel: string, body: string, prelude = ""): string {
  return `import { defineScorer } from "@orderflow/scorer";
${prelude}
export default defineScorer({
  spec: { name: ${JSON.stringify(channel)}, channel: ${JSON.stringify(channel)}, apiVersion: 1,
    description: "test scorer", options: {} },
  create() {
    return { score: (order) => ${body} };
  },
});
`;
}

/** Copies a real plugin file into `dir`. */
export async function copyRealPlugin(dir: string, name: string): Promise<void> {
  await Deno.copyFile(REAL_PLUGINS_DIR + name, `${dir}/${name}`);
}

/** Writes a manifest to `dir`. */
export async function writeManifest(dir: string, manifest: unknown): Promise<void> {
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest, null, 2));
}

/** A temp plugins dir with web, partner, mobile and the default fallback from the repo. */
export async function tempPluginsDir(discovery = true): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "orderflow-plugins-" });
  for (const name of ["web.ts", "partner.ts", "mobile.ts", "default.ts"]) {
    await copyRealPlugin(dir, name);
  }
  await writeManifest(dir, {
    version: 1,
    discovery,
    scorers: [
      { name: "web", channel: "web", module: "./web.ts", enabled: true, options: {} },
      { name: "partner", channel: "partner", module: "./partner.ts", enabled: true, options: {} },
      { name: "mobile", channel: "mobile", module: "./mobile.ts", enabled: true, options: {} },
    ],
    fallback: { module: "./default.ts", options: {} },
  });
  return dir;
}

/** Polls `check` every 25 ms until it returns true or `timeoutMs` passes; returns elapsed ms. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return performance.now() - start;
}
