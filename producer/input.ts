/**
 * The produce task's file/stdin input (`--file PATH`, `--file -`): opened before anything
 * connects, so a missing file is a usage error, not a Kafka one.
 *
 * @module
 */
import { UsageError } from "../cli/usage.ts";
import { jsonLinesSource, type SourceItem } from "./sources.ts";

/** An opened `--file` input. */
export interface FileInput {
  readonly source: AsyncIterable<SourceItem>;
  /** `stdin` or the path, for log lines. */
  readonly name: string;
  /** The opened file (undefined for stdin); closed by the caller. */
  readonly file: Deno.FsFile | undefined;
}

/**
 * Opens `path` ("-": `stdin`) as JSON lines, at most `count` of them. Throws a
 * {@linkcode UsageError} when the file cannot be opened.
 */
export async function openFileInput(
  path: string,
  options: {
    readonly stdin: ReadableStream<Uint8Array>;
    readonly validate: boolean;
    readonly count: number | undefined;
  },
): Promise<FileInput> {
  let file: Deno.FsFile | undefined;
  if (path !== "-") {
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      throw new UsageError(`Cannot read orders file "${path}": ${(error as Error).message}`, {
        cause: error,
        remedy: "Check the path (or use --file - for stdin).",
      });
    }
  }
  const stream = file?.readable ?? options.stdin;
  return {
    source: take(jsonLinesSource(stream, { validate: options.validate }), options.count),
    name: file === undefined ? "stdin" : path,
    file,
  };
}

/** The first `count` items (all when undefined). */
export async function* take<T>(
  items: AsyncIterable<T>,
  count: number | undefined,
): AsyncGenerator<T> {
  if (count === 0) return;
  let n = 0;
  for await (const item of items) {
    yield item;
    if (count !== undefined && ++n >= count) return;
  }
}
