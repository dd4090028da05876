/**
 * Private test helpers: temporary plugin directories with real and hostile scorer files.
 *
 * @module
 */
import type { OrderData } from "../../core/order.ts";

/** Absolute `file:` URL of the repo's `mod.ts`, for plugin files written outside `plugins/`. */
export const MOD_URL: string = new URL("../../mod.ts", import.meta.url).href;

/**
 * Load timeout for hosts in tests: `deno test` type-checks every worker's module graph when it
 * starts (about 1 s each on this machine), which plain `deno run` does not do.
 */
export const LOAD_TIMEOUT_MS = 60_000;

/** The repo's real `plugins/` directory. */
export const REAL_PLUGINS_DIR: string = new URL("../../plugins/", import.meta.url).pathname;

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
 * using `order`), importing `mod.ts` by absolute URL so it works in any directory.
 */
export function scorerSource(channel: string, body: string, prelude = ""): string {
  return `import { defineScorer } from ${JSON.stringify(MOD_URL)};
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

/** Copies a real plugin file into `dir`, pointing its `../mod.ts` import at the repo. */
export async function copyRealPlugin(dir: string, name: string): Promise<void> {
  const source = await Deno.readTextFile(REAL_PLUGINS_DIR + name);
  await Deno.writeTextFile(
    `${dir}/${name}`,
    source.replace(`"../mod.ts"`, JSON.stringify(MOD_URL)),
  );
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
