/**
 * Installs the kafkajs patches once per process, only on the exact kafkajs version they were
 * written against and only when the app's kafkajs is the copy they patch, and reports which are
 * live. The report is the one record of their state: the start-up log line, the consumer's
 * `orderflow_kafkajs_patch_live` metric and the producer's `--json` summary all read it.
 *
 * @module
 */

import { CompressionCodecs } from "kafkajs";
import {
  compression,
  kafkajsUnloadable,
  kafkajsVersion,
  PATCHED_KAFKAJS_VERSION,
} from "./_kafkajs.ts";
import { installFetchV11Decoder, uninstallFetchV11Decoder } from "./_fetch_v11_decoder.ts";
import { installVarintEncoder, uninstallVarintEncoder } from "./_varint_encoder.ts";
import { checkFetchV11Decoder, checkVarintEncoder } from "./_self_test.ts";

/** The patches, by the name the log line and the metric use. */
export type PatchName = "fetch_v11_decoder" | "varint_encoder";

/** Every patch, in report order. */
export const PATCH_NAMES: readonly PatchName[] = Object.freeze([
  "fetch_v11_decoder",
  "varint_encoder",
]);

/** Whether one patch is live, and why not. */
export interface PatchStatus {
  /** Which patch. */
  readonly name: PatchName;
  /** Installed, and its self-test passed. */
  readonly live: boolean;
  /** Why the patch is off (absent when live). */
  readonly reason?: string;
}

/** What {@linkcode installKafkajsPatches} did. */
export interface PatchReport {
  /** The version of the kafkajs the app imports (its package.json). */
  readonly kafkajsVersion: string;
  /** The version the patches were written against. */
  readonly patchedVersion: string;
  /** One entry per patch, in {@linkcode PATCH_NAMES} order. */
  readonly patches: readonly PatchStatus[];
}

/** What the install looks at in the app's kafkajs (swappable in tests). */
export interface KafkajsFound {
  /** The version in the package.json of the kafkajs the app imports. */
  readonly version: string;
  /** `CompressionCodecs` as the app imports it from `kafkajs`. */
  readonly publicCodecs: unknown;
  /** kafkajs files the patches need that could not be loaded (absent when all loaded). */
  readonly unloadable?: string;
}

/**
 * Why the patches must stay off for this kafkajs, or undefined when they may be installed: the
 * version is not exactly {@linkcode PATCHED_KAFKAJS_VERSION}, a kafkajs file they need cannot be
 * loaded, or the app's `kafkajs` is another copy than the one the patches load (its public
 * `CompressionCodecs` is not the internal registry's), so patching would change code nobody runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kafkajsMismatch } from "./install.ts";
 *
 * assert.equal(
 *   kafkajsMismatch({ version: "2.2.5", publicCodecs: {} }),
 *   "kafkajs 2.2.5 != 2.2.4",
 * );
 * assert.match(kafkajsMismatch({ version: "2.2.4", publicCodecs: {} })!, /another copy/);
 * ```
 */
export function kafkajsMismatch(found: KafkajsFound): string | undefined {
  if (found.version !== PATCHED_KAFKAJS_VERSION) {
    return `kafkajs ${found.version} != ${PATCHED_KAFKAJS_VERSION}`;
  }
  if (found.unloadable !== undefined) return `cannot load kafkajs ${found.unloadable}`;
  if (found.publicCodecs !== compression.Codecs) {
    return "the app's kafkajs is another copy than the one patched";
  }
  return undefined;
}

/** The report of this process; the patches it describes are process-wide too. */
let installed: PatchReport | undefined;

/**
 * Installs the kafkajs patches (once per process; later calls return the same report). Call it at
 * start-up, before the first Kafka client is created; the consumer worker and the publisher call
 * it too, so code that builds them directly gets the same patches.
 *
 * A patch stays installed only when its self-test passes: kafkajs' broker reaches the patched code,
 * and it gives kafkajs' own answer on a sample. Otherwise it is removed and reported off.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describePatchReport, installKafkajsPatches } from "./mod.ts";
 *
 * const report = installKafkajsPatches();
 * assert.equal(installKafkajsPatches(), report); // once per process
 * assert.equal(
 *   describePatchReport(report),
 *   "kafkajs patches: fetch_v11_decoder live, varint_encoder live (kafkajs 2.2.4)",
 * );
 * ```
 */
export function installKafkajsPatches(): PatchReport {
  if (installed !== undefined) return installed;
  const off = kafkajsMismatch({
    version: kafkajsVersion,
    publicCodecs: CompressionCodecs,
    ...(kafkajsUnloadable === undefined ? {} : { unloadable: kafkajsUnloadable }),
  });
  let patches: PatchStatus[];
  if (off !== undefined) {
    patches = PATCH_NAMES.map((name) => ({ name, live: false, reason: off }));
  } else {
    installFetchV11Decoder();
    const originals = installVarintEncoder();
    patches = [
      settle("fetch_v11_decoder", checkFetchV11Decoder(), uninstallFetchV11Decoder),
      settle("varint_encoder", checkVarintEncoder(originals), uninstallVarintEncoder),
    ];
  }
  installed = Object.freeze({
    kafkajsVersion,
    patchedVersion: PATCHED_KAFKAJS_VERSION,
    patches: Object.freeze(patches.map((p) => Object.freeze(p))),
  });
  return installed;
}

function settle(name: PatchName, failure: string | undefined, uninstall: () => void): PatchStatus {
  if (failure === undefined) return { name, live: true };
  uninstall();
  return { name, live: false, reason: `self-test: ${failure}` };
}

/** The report of {@linkcode installKafkajsPatches} in this process, or undefined before it ran. */
export function kafkajsPatchReport(): PatchReport | undefined {
  return installed;
}

/**
 * The start-up log line: which patches are live, or why they are off.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describePatchReport } from "./install.ts";
 *
 * const reason = "kafkajs 2.2.5 != 2.2.4";
 * assert.equal(
 *   describePatchReport({
 *     kafkajsVersion: "2.2.5",
 *     patchedVersion: "2.2.4",
 *     patches: [
 *       { name: "fetch_v11_decoder", live: false, reason },
 *       { name: "varint_encoder", live: false, reason },
 *     ],
 *   }),
 *   "kafkajs patches: off: kafkajs 2.2.5 != 2.2.4 (kafkajs' own decoder and encoder in use)",
 * );
 * ```
 */
export function describePatchReport(report: PatchReport): string {
  const reasons = new Set(report.patches.map((p) => p.reason));
  const [only] = reasons;
  if (reasons.size === 1 && only !== undefined) {
    return `kafkajs patches: off: ${only} (kafkajs' own decoder and encoder in use)`;
  }
  const parts = report.patches.map((p) =>
    p.live ? `${p.name} live` : `${p.name} off (${p.reason ?? "unknown"})`
  );
  return `kafkajs patches: ${parts.join(", ")} (kafkajs ${report.kafkajsVersion})`;
}

/**
 * The report as JSON for a summary: patch name → "live" or "off: reason", plus the version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { patchReportJson } from "./install.ts";
 *
 * assert.deepEqual(
 *   patchReportJson({
 *     kafkajsVersion: "2.2.4",
 *     patchedVersion: "2.2.4",
 *     patches: [{ name: "fetch_v11_decoder", live: true }],
 *   }),
 *   { kafkajs: "2.2.4", fetch_v11_decoder: "live" },
 * );
 * ```
 */
export function patchReportJson(report: PatchReport): Record<string, string> {
  const out: Record<string, string> = { kafkajs: report.kafkajsVersion };
  for (const p of report.patches) out[p.name] = p.live ? "live" : `off: ${p.reason ?? "unknown"}`;
  return out;
}
