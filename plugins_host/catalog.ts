/**
 * Which plugin files the host should run: the manifest's entries, its fallback, and (with
 * discovery on) the other scorer files in the directory.
 *
 * @module
 */
import {
  DEFAULT_LIMITS,
  isScorerFileName,
  joinPath,
  type Manifest,
  MANIFEST_FILE,
  type PluginLimits,
  resolvePluginFile,
} from "./manifest.ts";
import { BUILTIN_SCORER } from "./types.ts";

/** One plugin file to run. */
export interface Entry {
  readonly file: string;
  readonly source: "manifest" | "discovered" | "fallback";
  /** From the manifest; undefined for the fallback and discovered files. */
  readonly channel: string | undefined;
  readonly name: string | undefined;
  readonly enabled: boolean;
  readonly options: Readonly<Record<string, unknown>>;
  readonly limits: PluginLimits;
}

/** Entries to run, disabled ones, and those whose path cannot be used (with why). */
export interface Catalog {
  readonly run: Entry[];
  readonly disabled: Entry[];
  readonly unusable: { readonly entry: Entry; readonly error: string }[];
}

/** Lists the plugin files of `dir` (a real path) under `manifest`. */
export async function catalog(dir: string, manifest: Manifest): Promise<Catalog> {
  const found: Catalog = { run: [], disabled: [], unusable: [] };
  const listed = new Set<string>([MANIFEST_FILE]);
  const add = async (entry: Omit<Entry, "file">, module: string) => {
    listed.add(module.replace(/^\.\//, ""));
    try {
      const file = await resolvePluginFile(dir, module);
      (entry.enabled ? found.run : found.disabled).push({ ...entry, file });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      found.unusable.push({ entry: { ...entry, file: joinPath(dir, module) }, error: message });
    }
  };
  for (const scorer of manifest.scorers) {
    await add({ ...scorer, source: "manifest" }, scorer.module);
  }
  const unlisted = { channel: undefined, name: undefined, enabled: true } as const;
  const { fallback } = manifest;
  await add({ ...unlisted, ...fallback, source: "fallback" }, fallback.module);
  if (!manifest.discovery) return found;
  const names: string[] = [];
  for await (const item of Deno.readDir(dir)) {
    if ((item.isFile || item.isSymlink) && isScorerFileName(item.name) && !listed.has(item.name)) {
      names.push(item.name);
    }
  }
  for (const name of names.sort()) {
    await add(
      { ...unlisted, source: "discovered", options: {}, limits: DEFAULT_LIMITS },
      `./${name}`,
    );
  }
  return found;
}

/** A loaded plugin as the ownership rules see it. */
export interface Claim {
  readonly entry: Entry;
  /** The channel its spec declares. */
  readonly channel: string;
  /** The name its spec declares (the `scorer` of its scores and metrics). */
  readonly name: string;
}

/**
 * Channel ownership: a channel listed in the manifest belongs to that entry, whether it loaded,
 * failed or is disabled; a discovered file may claim only a channel the manifest does not list,
 * and the first such file by name wins. Names are the scorers' identities in stored orders and
 * metrics, so a discovered file may not take the name of a manifest entry or of a scorer already
 * accepted either. Returns the owner of each channel and, for every claim refused, why.
 *
 * @example
 * ```ts
 * import { ownership } from "./catalog.ts";
 * import assert from "node:assert/strict";
 *
 * const limits = { memoryMb: 64, deadlineMs: 250 };
 * const entry = (file: string, source: "manifest" | "discovered") =>
 *   ({ file, source, channel: undefined, name: undefined, enabled: true, options: {}, limits });
 * const manifest = [{ name: "web", channel: "web" }];
 * const { owners, conflicts } = ownership(
 *   [{ entry: entry("/p/evil.ts", "discovered"), channel: "web", name: "evil" }],
 *   manifest,
 * );
 * assert.equal(owners.size, 0);
 * assert.match(conflicts.get("/p/evil.ts") ?? "", /belongs to manifest entry "web"/);
 * ```
 */
export function ownership<C extends Claim>(
  claims: readonly C[],
  manifest: readonly { readonly name: string; readonly channel: string }[],
): { owners: Map<string, C>; conflicts: Map<string, string> } {
  const listed = new Map(manifest.map((s) => [s.channel, s.name]));
  const listedNames = new Set(manifest.map((s) => s.name));
  // name → file of the scorer accepted under it; "builtin" stamps the host's own last resort.
  const named = new Map<string, string>([[BUILTIN_SCORER, "the host's built-in fallback"]]);
  const owners = new Map<string, C>();
  const conflicts = new Map<string, string>();
  const sorted = [...claims].sort((a, b) =>
    Number(a.entry.source === "discovered") - Number(b.entry.source === "discovered") ||
    a.entry.file.localeCompare(b.entry.file)
  );
  for (const claim of sorted) {
    const { entry, channel, name } = claim;
    if (entry.source === "fallback") {
      named.set(name, entry.file);
      continue;
    }
    const discovered = entry.source === "discovered";
    const owner = listed.get(channel);
    const holder = owners.get(channel);
    const refused = discovered && owner !== undefined
      ? `channel "${channel}" belongs to manifest entry "${owner}" (${MANIFEST_FILE})`
      : holder
      ? `channel "${channel}" is already served by ${holder.entry.file}`
      : discovered && listedNames.has(name)
      ? `name "${name}" belongs to manifest entry "${name}" (${MANIFEST_FILE})`
      : named.has(name)
      ? `name "${name}" is already used by ${named.get(name)}`
      : undefined;
    if (refused) conflicts.set(entry.file, refused);
    else {
      owners.set(channel, claim);
      named.set(name, entry.file);
    }
  }
  return { owners, conflicts };
}
