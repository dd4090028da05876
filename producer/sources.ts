/**
 * Where orders come from: the synthetic generator, or JSON lines from a file or stdin
 * (validated with `Order.fromRaw` unless `--no-validate`).
 *
 * @module
 */

import { Order, type OrderData, OrderValidationError } from "../core/order.ts";
import { readLines } from "./line_reader.ts";
import type { SyntheticOrders } from "./synthetic.ts";

/** One message to publish. */
export interface OutgoingRecord {
  /** Kafka key: the order ID, or null when it could not be read (`--no-validate` only). */
  readonly key: string | null;
  /** The message value: JSON text, or the input line's exact bytes with `--no-validate`. */
  readonly value: string | Uint8Array;
  /** Input line number for file/stdin input. */
  readonly line?: number;
  /** The order as scorers see it, when the record is a valid order (to score it at the edge). */
  readonly order?: OrderData;
  /** Headers of this record, added to the batch's `produced_at` and `schema` (edge scores). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A record to send, or an input line that was rejected (and is not sent). */
export type SourceItem =
  | { readonly kind: "record"; readonly record: OutgoingRecord }
  | { readonly kind: "invalid"; readonly line: number; readonly reason: string };

/**
 * Synthetic orders as records, `count` of them (endless when undefined); with `withOrder` each
 * record carries its {@linkcode OrderData} for edge scoring.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syntheticSource } from "./sources.ts";
 * import { SyntheticOrders } from "./synthetic.ts";
 * const items = [...syntheticSource(new SyntheticOrders({ seed: 1 }), 2)];
 * assert.equal(items.length, 2);
 * assert.equal(items[0]?.kind, "record");
 * ```
 */
export function* syntheticSource(
  generator: SyntheticOrders,
  count?: number,
  options: { readonly withOrder?: boolean } = {},
): Generator<SourceItem> {
  for (let i = 0; count === undefined || i < count; i++) {
    if (options.withOrder === true) {
      const { orderId, json, order } = generator.nextWithData();
      yield { kind: "record", record: { key: orderId, value: json, order } };
      continue;
    }
    const { orderId, json } = generator.nextJson();
    yield { kind: "record", record: { key: orderId, value: json } };
  }
}

/** Options of {@linkcode jsonLinesSource}. */
export interface JsonLinesOptions {
  /** Validate each line with `Order.fromRaw` (default true). */
  readonly validate?: boolean;
  /** Longest accepted line in bytes (default 1 MiB). */
  readonly maxLineBytes?: number;
  /** Clock for the future-timestamp check of `Order.fromRaw` (epoch ms). */
  readonly now?: () => number;
}

/**
 * Records from a stream of JSON lines. With validation (the default) each line must be UTF-8
 * JSON that `Order.fromRaw` accepts; it is sent in its canonical form (`order.toJSON()`), keyed by
 * its order ID. A rejected line becomes an `invalid` item with its line number and every reason.
 * Without validation each line's bytes are sent untouched, keyed by `orderId` when the line is a
 * JSON object with a string `orderId`, else with a null key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonLinesSource } from "./sources.ts";
 * const input = ReadableStream.from([new TextEncoder().encode("not json\n")]);
 * for await (const item of jsonLinesSource(input)) {
 *   assert.equal(item.kind, "invalid");
 *   if (item.kind === "invalid") assert.equal(item.line, 1);
 * }
 * ```
 */
export async function* jsonLinesSource(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: JsonLinesOptions = {},
): AsyncGenerator<SourceItem> {
  const validate = options.validate ?? true;
  const maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for await (const line of readLines(stream, { maxLineBytes })) {
    if (line.tooLong) {
      if (validate) {
        yield {
          kind: "invalid",
          line: line.number,
          reason: `line is longer than ${maxLineBytes} bytes`,
        };
      } else {
        yield {
          kind: "invalid",
          line: line.number,
          reason: `line is longer than ${maxLineBytes} bytes (not sent even with --no-validate)`,
        };
      }
      continue;
    }
    if (!validate) {
      yield {
        kind: "record",
        record: { key: readOrderId(line.bytes, decoder), value: line.bytes, line: line.number },
      };
      continue;
    }
    let text: string;
    try {
      text = decoder.decode(line.bytes);
    } catch {
      yield { kind: "invalid", line: line.number, reason: "line is not valid UTF-8" };
      continue;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      const detail = error instanceof SyntaxError ? error.message : String(error);
      yield { kind: "invalid", line: line.number, reason: `line is not JSON: ${detail}` };
      continue;
    }
    try {
      const order = options.now === undefined
        ? Order.fromRaw(raw)
        : Order.fromRaw(raw, { now: options.now() });
      yield {
        kind: "record",
        record: {
          key: order.orderId,
          value: JSON.stringify(order.toJSON()),
          line: line.number,
          order,
        },
      };
    } catch (error) {
      if (!(error instanceof OrderValidationError)) throw error;
      const reasons = error.issues.map((i) => `${i.path}: ${i.message}`);
      if (error.omitted > 0) reasons.push(`... and ${error.omitted} more`);
      yield { kind: "invalid", line: line.number, reason: reasons.join("; ") };
    }
  }
}

function readOrderId(bytes: Uint8Array, decoder: TextDecoder): string | null {
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const id = (value as Record<string, unknown>)["orderId"];
      if (typeof id === "string" && id !== "") return id;
    }
  } catch {
    // Not UTF-8 or not JSON: sent as-is with a null key, which is what --no-validate is for.
  }
  return null;
}
