/**
 * What the Kafka and COS error explainers share: walking an error and the errors it wraps, and
 * redacting secrets from what is shown.
 *
 * @module
 */

/** One error of a chain, reduced to what the explainers match on. */
export interface ErrorLike {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly type?: string;
  /** HTTP status (`statusCode`, else `status`). */
  readonly statusCode?: number;
}

/** How {@linkcode errorChain} walks. */
export interface ChainOptions {
  /** Follow `Error` instances only (kafkajs), or any object (the COS SDK's plain errors). */
  readonly errorsOnly: boolean;
  /** The wrapped error followed when an error names both. */
  readonly first: "cause" | "originalError";
  /** Also walk the errors of an `AggregateError` given at the top. */
  readonly aggregate?: boolean;
}

/** The error and the errors it wraps (`cause`, `originalError`), each once, at most 10. */
export function errorChain(err: unknown, options: ChainOptions): ErrorLike[] {
  const chain: ErrorLike[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (
    (options.errorsOnly
      ? current instanceof Error
      : typeof current === "object" && current !== null) &&
    !seen.has(current) && chain.length < 10
  ) {
    seen.add(current);
    const record = current as {
      name?: unknown;
      message?: unknown;
      code?: unknown;
      type?: unknown;
      statusCode?: unknown;
      status?: unknown;
      cause?: unknown;
      originalError?: unknown;
    };
    const statusCode = typeof record.statusCode === "number"
      ? record.statusCode
      : typeof record.status === "number"
      ? record.status
      : undefined;
    chain.push({
      name: typeof record.name === "string" ? record.name : "Error",
      message: typeof record.message === "string" ? record.message : "",
      ...(typeof record.code === "string" ? { code: record.code } : {}),
      ...(typeof record.type === "string" ? { type: record.type } : {}),
      ...(statusCode !== undefined ? { statusCode } : {}),
    });
    current = options.first === "cause"
      ? record.cause ?? record.originalError
      : record.originalError ?? record.cause;
  }
  if (options.aggregate === true && err instanceof AggregateError) {
    for (const inner of err.errors) chain.push(...errorChain(inner, options));
  }
  return chain;
}

/** `text` with every secret replaced by `***` (longest first, so no part of one is left). */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret !== "") out = out.split(secret).join("***");
  }
  return out;
}

/** What to say when Deno refused a permission (either client). */
export const DENO_DENIED = Object.freeze({
  what: "Deno denied access",
  remedy:
    "run through the deno task (it grants the named permission set), or add the missing --allow-* flag",
});
