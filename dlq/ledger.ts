/**
 * What a redrive has already sent from one partition of the dead-letter topic, kept in the
 * redrive consumer group's committed offset and its commit metadata.
 *
 * The rule:
 *
 * - The committed offset only ever moves over a contiguous run of records that are finished:
 *   redriven and acknowledged by `ORDERS_TOPIC`, or never redrivable (a truncated copy, see
 *   `isTruncated`). Everything below it is never read again by a redrive.
 * - A record the filters leave out (`--reason`, `--since`, `--until`) is *held*: the committed
 *   offset stops in front of it for the rest of the run, so a later redrive with other filters
 *   (or none) still reaches it. Stats and show read the whole topic anyway, independent of the
 *   group.
 * - Records redriven after a held one are listed in the commit metadata as offset ranges, so a
 *   later run skips them instead of sending them again; once the held record is redriven, the
 *   committed offset moves past the whole run and the list shrinks. Each range is written as
 *   `<gap>.<length>` in base 36 (`.<length>` left out when 1), the gap counted from the end of the
 *   previous range, the first from the committed offset: committed 11 with 12–13 and 15 sent is
 *   `orderflow.dlq-redrive/2 sent=1.2,1` — about three times as many ranges fit as in decimal.
 * - Commit metadata is small (brokers' `offset.metadata.max.bytes`, 4096 by default), so the list
 *   is capped at {@linkcode MAX_METADATA_CHARS}; a record that would overflow it is not sent in
 *   this run (the redrive reports it as deferred) rather than sent without a trace.
 *
 * @module
 */

/** Marks metadata written by this module, with its version. */
export const METADATA_PREFIX = "orderflow.dlq-redrive/2 sent=";
/** Longest metadata written, in characters (below Kafka's default limit of 4096 bytes). */
export const MAX_METADATA_CHARS = 3000;

/** The redrive group's metadata is not ours or is damaged: refuse rather than resend blindly. */
export class LedgerError extends Error {
  override name = "LedgerError";
}

/** Inclusive offset range. */
type Range = readonly [bigint, bigint];

/** The redrive bookkeeping of one partition; see the module doc for the rule. */
export class PartitionLedger {
  #next: bigint | undefined;
  #held = false;
  #sent: Range[];

  private constructor(next: bigint | undefined, sent: Range[]) {
    this.#next = next;
    this.#sent = sent;
  }

  /**
   * The ledger of a partition from its committed offset (`"-1"`: none) and commit metadata.
   * Throws {@linkcode LedgerError} for metadata this module did not write.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PartitionLedger } from "./ledger.ts";
   * const l = PartitionLedger.fromCommit("10", "orderflow.dlq-redrive/2 sent=2.2");
   * assert.ok(l.wasSent(9n) && l.wasSent(12n) && !l.wasSent(11n));
   * ```
   */
  static fromCommit(offset: string, metadata: string | null | undefined): PartitionLedger {
    const n = BigInt(offset);
    const next = n >= 0n ? n : undefined;
    return new PartitionLedger(next, parseSent(metadata ?? "", next));
  }

  /** A copy to plan on; the original stays as it was until the plan is acknowledged. */
  clone(): PartitionLedger {
    const copy = new PartitionLedger(this.#next, [...this.#sent]);
    copy.#held = this.#held;
    return copy;
  }

  /** The offset to commit (every record below it is finished), or undefined before any record. */
  get next(): bigint | undefined {
    return this.#next;
  }

  /** Whether a record was held in this run (the committed offset cannot move any more). */
  get held(): boolean {
    return this.#held;
  }

  /** Whether the record at `offset` was already redriven (below the commit, or listed). */
  wasSent(offset: bigint): boolean {
    if (this.#next !== undefined && offset < this.#next) return true;
    return this.#sent.some(([a, b]) => a <= offset && offset <= b);
  }

  /**
   * Records that the record at `offset` is finished: `sent` when it was redriven (or had been),
   * false when it can never be. Returns false, changing nothing, when listing it would make the
   * metadata longer than {@linkcode MAX_METADATA_CHARS}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PartitionLedger } from "./ledger.ts";
   * const l = PartitionLedger.fromCommit("-1", null);
   * l.finish(0n, { sent: true });
   * l.hold(1n);
   * l.finish(2n, { sent: true });
   * assert.equal(l.next, 1n);
   * assert.equal(l.metadata(), "orderflow.dlq-redrive/2 sent=1");
   * ```
   */
  finish(offset: bigint, { sent }: { sent: boolean }): boolean {
    if (this.#next === undefined) this.#next = offset;
    if (!this.#held) {
      if (offset >= this.#next) this.#next = offset + 1n;
      this.#sent = above(this.#sent, this.#next);
      return true;
    }
    // Past a held record: a record that can never be sent is found again next run, no need to
    // list it; a sent one must be listed, or the next run would send it again.
    if (!sent || this.wasSent(offset)) return true;
    const before = this.#sent;
    this.#sent = addOffset(before, offset);
    if (this.metadata().length > MAX_METADATA_CHARS) {
      this.#sent = before;
      return false;
    }
    return true;
  }

  /** Records that the record at `offset` was left for a later run: the commit stops before it. */
  hold(offset: bigint): void {
    if (this.#next === undefined) this.#next = offset;
    this.#held = true;
  }

  /** The commit metadata: the sent offsets above {@linkcode PartitionLedger.next}. */
  metadata(): string {
    let previous = this.#next ?? 0n;
    const parts = this.#sent.map(([a, b]) => {
      const gap = (a - previous).toString(36);
      previous = b + 1n;
      return a === b ? gap : `${gap}.${(b - a + 1n).toString(36)}`;
    });
    return METADATA_PREFIX + parts.join(",");
  }
}

function parseSent(metadata: string, next: bigint | undefined): Range[] {
  if (metadata === "") return [];
  if (!metadata.startsWith(METADATA_PREFIX)) {
    throw new LedgerError(`commit metadata not written by deno task dlq: ${metadata.slice(0, 80)}`);
  }
  const body = metadata.slice(METADATA_PREFIX.length);
  if (body === "") return [];
  if (next === undefined) {
    throw new LedgerError(
      "damaged commit metadata: sent offsets listed without a committed offset",
    );
  }
  const ranges: Range[] = [];
  let previous = next;
  for (const part of body.split(",")) {
    const m = /^([0-9a-z]+)(?:\.([0-9a-z]+))?$/.exec(part);
    const length = m?.[2] === undefined ? 1n : base36(m[2]);
    if (m === null || length < 1n) {
      throw new LedgerError(
        `damaged commit metadata: "${part.slice(0, 40)}" is not <gap>.<length>`,
      );
    }
    const a = previous + base36(m[1]!);
    ranges.push([a, a + length - 1n]);
    previous = a + length;
  }
  return above(ranges, next);
}

function base36(text: string): bigint {
  let n = 0n;
  for (const c of text) n = n * 36n + BigInt(parseInt(c, 36));
  return n;
}

/** The parts of `ranges` at or above `next`. */
function above(ranges: readonly Range[], next: bigint): Range[] {
  return ranges.filter(([, b]) => b >= next).map(([a, b]) => [a < next ? next : a, b] as const);
}

function addOffset(ranges: readonly Range[], offset: bigint): Range[] {
  return mergeRange(ranges, [offset, offset]);
}

/** `ranges` with `add` merged in: sorted, disjoint, adjacent ranges joined. */
function mergeRange(ranges: readonly Range[], add: Range): Range[] {
  const all = [...ranges, add].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [a, b] of all) {
    const last = out.at(-1);
    if (last !== undefined && a <= last[1] + 1n) {
      if (b > last[1]) last[1] = b;
    } else {
      out.push([a, b]);
    }
  }
  return out;
}
