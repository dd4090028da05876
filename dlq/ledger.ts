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
 * - Records redriven after a held one are listed in the commit metadata as offset ranges
 *   (`orderflow.dlq-redrive/1 sent=12-15,18`), so a later run skips them instead of sending them
 *   again; once the held record is redriven, the committed offset moves past the whole run and
 *   the list shrinks.
 * - Commit metadata is small (brokers' `offset.metadata.max.bytes`, 4096 by default), so the list
 *   is capped at {@linkcode MAX_METADATA_CHARS}; a record that would overflow it is not sent in
 *   this run (the redrive reports it as deferred) rather than sent without a trace.
 *
 * @module
 */

/** Marks metadata written by this module, with its version. */
export const METADATA_PREFIX = "orderflow.dlq-redrive/1 sent=";
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
   * const l = PartitionLedger.fromCommit("10", "orderflow.dlq-redrive/1 sent=12-13");
   * assert.ok(l.wasSent(9n) && l.wasSent(12n) && !l.wasSent(11n));
   * ```
   */
  static fromCommit(offset: string, metadata: string | null | undefined): PartitionLedger {
    const n = BigInt(offset);
    const next = n >= 0n ? n : undefined;
    return new PartitionLedger(
      next,
      parseSent(metadata ?? "").filter(([, b]) => b >= (next ?? 0n)),
    );
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
   * assert.equal(l.metadata(), "orderflow.dlq-redrive/1 sent=2");
   * ```
   */
  finish(offset: bigint, { sent }: { sent: boolean }): boolean {
    if (this.#next === undefined) this.#next = offset;
    if (!this.#held) {
      if (offset >= this.#next) this.#next = offset + 1n;
      this.#sent = this.#sent.filter(([, b]) => b >= this.#next!);
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
    return METADATA_PREFIX +
      this.#sent.map(([a, b]) => a === b ? `${a}` : `${a}-${b}`).join(",");
  }
}

function parseSent(metadata: string): Range[] {
  if (metadata === "") return [];
  if (!metadata.startsWith(METADATA_PREFIX)) {
    throw new LedgerError(`commit metadata not written by deno task dlq: ${metadata.slice(0, 80)}`);
  }
  const body = metadata.slice(METADATA_PREFIX.length);
  if (body === "") return [];
  let ranges: Range[] = [];
  for (const part of body.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null || (m[2] !== undefined && BigInt(m[2]) < BigInt(m[1]!))) {
      throw new LedgerError(`damaged commit metadata: "${part}" is not an offset range`);
    }
    ranges = mergeRange(ranges, [BigInt(m[1]!), BigInt(m[2] ?? m[1]!)]);
  }
  return ranges;
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
