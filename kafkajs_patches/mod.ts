/**
 * The kafkajs patches: speed-ups that replace kafkajs 2.2.4 internals (its Fetch v11 response
 * decoder and its varint encoder) with code giving the same results for less CPU under Deno.
 * Every import of kafkajs internals lives in this folder. Call
 * {@linkcode installKafkajsPatches} once at start-up and log {@linkcode describePatchReport}: the
 * patches go live only on the exact kafkajs version they were written for, and only when the
 * app's kafkajs is the copy they patch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installKafkajsPatches, kafkajsPatchReport } from "./mod.ts";
 *
 * const report = installKafkajsPatches();
 * assert.equal(kafkajsPatchReport(), report);
 * assert.ok(report.patches.every((p) => p.live));
 * ```
 *
 * @module
 */

export {
  describePatchReport,
  installKafkajsPatches,
  type KafkajsFound,
  kafkajsMismatch,
  kafkajsPatchReport,
  PATCH_NAMES,
  type PatchName,
  type PatchReport,
  patchReportJson,
  type PatchStatus,
} from "./install.ts";
