import assert from "node:assert/strict";
import { jsonLinesSource, type SourceItem } from "./sources.ts";

const enc = new TextEncoder();
const VALID =
  '{"orderId":"ord-1","customerId":"c-1","channel":"web","items":[{"sku":"S","quantity":2,"unit_price":1.25}],"total":2.5,"currency":"USD","created_at":"2026-01-01T00:00:00.000Z"}';

async function collect(text: string | Uint8Array, validate = true): Promise<SourceItem[]> {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  const out: SourceItem[] = [];
  for await (const item of jsonLinesSource(ReadableStream.from([bytes]), { validate })) {
    out.push(item);
  }
  return out;
}

Deno.test("jsonLinesSource() sends valid orders in canonical form keyed by orderId", async () => {
  const [item] = await collect(`\r\n${VALID}\r\n`);
  assert.equal(item?.kind, "record");
  if (item?.kind !== "record") return;
  assert.equal(item.record.key, "ord-1");
  assert.equal(item.record.line, 2);
  assert.equal(JSON.parse(item.record.value as string).orderId, "ord-1");
});

Deno.test("jsonLinesSource() rejects bad lines with the line number and every reason", async () => {
  const items = await collect(
    [
      VALID,
      "{not json",
      '{"orderId":"a/b","items":[]}',
      "[1,2]",
    ].join("\n"),
  );
  assert.deepEqual(items.map((i) => i.kind), ["record", "invalid", "invalid", "invalid"]);
  const reasons = items.flatMap((i) => (i.kind === "invalid" ? [[i.line, i.reason]] : []));
  assert.equal(reasons[0]?.[0], 2);
  assert.match(String(reasons[0]?.[1]), /^line is not JSON/);
  assert.equal(reasons[1]?.[0], 3);
  assert.match(String(reasons[1]?.[1]), /orderId: .*; items: .*; customerId: |orderId: .*items: /);
  assert.equal(reasons[2]?.[0], 4);
});

Deno.test("jsonLinesSource() reports invalid UTF-8 when validating", async () => {
  const items = await collect(new Uint8Array([0x7b, 0xff, 0x7d, 0x0a]));
  assert.deepEqual(items, [{ kind: "invalid", line: 1, reason: "line is not valid UTF-8" }]);
});

Deno.test("jsonLinesSource() without validation passes bytes through, key when readable", async () => {
  const raw = new Uint8Array([0x7b, 0xff, 0x7d]);
  const items = await collect(
    new Uint8Array([...enc.encode('{"orderId":"x y"}\n'), ...raw, 0x0a, ...enc.encode("junk")]),
    false,
  );
  assert.deepEqual(
    items.map((i) => (i.kind === "record" ? [i.record.key, i.record.value] : i)),
    [["x y", enc.encode('{"orderId":"x y"}')], [null, raw], [null, enc.encode("junk")]],
  );
});
