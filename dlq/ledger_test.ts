import assert from "node:assert/strict";
import { LedgerError, MAX_METADATA_CHARS, METADATA_PREFIX, PartitionLedger } from "./ledger.ts";

Deno.test("ledger: a contiguous run of finished records moves the commit past it", () => {
  const l = PartitionLedger.fromCommit("-1", null);
  assert.equal(l.next, undefined);
  l.finish(5n, { sent: true });
  l.finish(6n, { sent: false }); // never redrivable: passed over
  l.finish(8n, { sent: true }); // a gap in offsets is not a gap in records
  assert.equal(l.next, 9n);
  assert.equal(l.metadata(), METADATA_PREFIX);
});

Deno.test("ledger: a held record stops the commit; sends past it are listed, then absorbed", () => {
  const l = PartitionLedger.fromCommit("10", null);
  l.finish(10n, { sent: true });
  l.hold(11n);
  l.finish(12n, { sent: true });
  l.finish(13n, { sent: true });
  l.finish(14n, { sent: false }); // not listed: found again (and passed over) next run
  l.finish(15n, { sent: true });
  assert.equal(l.next, 11n);
  assert.equal(l.metadata(), `${METADATA_PREFIX}1.2,1`);

  // The next run starts at 11 from the committed offset and metadata.
  const next = PartitionLedger.fromCommit("11", l.metadata());
  assert.ok(!next.wasSent(11n) && next.wasSent(12n) && next.wasSent(13n) && !next.wasSent(14n));
  next.finish(11n, { sent: true }); // the held record, sent now
  for (const o of [12n, 13n]) next.finish(o, { sent: true });
  next.finish(14n, { sent: false });
  next.finish(15n, { sent: true });
  assert.equal(next.next, 16n);
  assert.equal(next.metadata(), METADATA_PREFIX, "the list shrank to nothing");
});

Deno.test("ledger: a held first record still gives a commit point for what follows", () => {
  const l = PartitionLedger.fromCommit("-1", null);
  l.hold(0n);
  l.finish(1n, { sent: true });
  assert.equal(l.next, 0n);
  assert.equal(l.metadata(), `${METADATA_PREFIX}1`);
});

Deno.test("ledger: refuses to list past the metadata cap and changes nothing then", () => {
  const l = PartitionLedger.fromCommit("0", null);
  l.hold(0n);
  let o = 1n;
  // Every other offset: one range per send, the worst case.
  while (o < 20_000n && l.finish(o, { sent: true })) o += 2n;
  assert.ok(l.metadata().length <= MAX_METADATA_CHARS);
  const before = l.metadata();
  assert.equal(l.finish(o + 2n, { sent: true }), false);
  assert.equal(l.metadata(), before);
  // o - 2 was the last listed; o - 3 fills the gap below it: "a,b" becomes "a-b", no longer.
  assert.ok(l.finish(o - 3n, { sent: true }), "filling a gap does not lengthen the list: fits");
});

Deno.test("ledger: clone is independent", () => {
  const l = PartitionLedger.fromCommit("0", null);
  const c = l.clone();
  c.finish(0n, { sent: true });
  assert.equal(l.next, 0n);
  assert.equal(c.next, 1n);
});

Deno.test("ledger: metadata it did not write is refused, not ignored", () => {
  assert.throws(() => PartitionLedger.fromCommit("3", "someone else's"), LedgerError);
  assert.throws(() => PartitionLedger.fromCommit("3", `${METADATA_PREFIX}9-4`), LedgerError);
  assert.throws(() => PartitionLedger.fromCommit("3", `${METADATA_PREFIX}1.0`), LedgerError);
  assert.throws(() => PartitionLedger.fromCommit("3", `${METADATA_PREFIX}X`), LedgerError);
  assert.throws(() => PartitionLedger.fromCommit("-1", `${METADATA_PREFIX}1`), LedgerError);
  assert.ok(PartitionLedger.fromCommit("3", "").wasSent(2n));
});

Deno.test("ledger: metadata round-trips, big offsets and long runs included", () => {
  const l = PartitionLedger.fromCommit("9000000000", null);
  l.hold(9_000_000_000n);
  for (let o = 9_000_000_002n; o < 9_000_100_000n; o++) l.finish(o, { sent: true });
  l.finish(9_000_100_001n, { sent: true });
  assert.equal(l.metadata(), `${METADATA_PREFIX}2.${(99_998).toString(36)},1`);
  const back = PartitionLedger.fromCommit("9000000000", l.metadata());
  assert.equal(back.metadata(), l.metadata());
  assert.ok(back.wasSent(9_000_000_002n) && back.wasSent(9_000_099_999n));
  assert.ok(!back.wasSent(9_000_000_001n) && !back.wasSent(9_000_100_000n));
});
