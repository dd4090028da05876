import { equal, ok } from "node:assert/strict";
import { isCanonicalTimestamp, parseTimestamp } from "./_timestamp.ts";

Deno.test("parseTimestamp() agrees with Date.parse on random valid timestamps", () => {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 2000; i++) {
    const ms = Math.floor(Date.UTC(2000, 0, 1) + random() * 1e12);
    const iso = new Date(ms).toISOString();
    equal(parseTimestamp(iso), ms, iso);
    ok(isCanonicalTimestamp(iso));
    const offset = Math.floor(random() * 24 * 60) * (random() < 0.5 ? -1 : 1);
    const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23);
    const sign = offset < 0 ? "-" : "+";
    const abs = Math.abs(offset);
    const zoned = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${
      String(abs % 60).padStart(2, "0")
    }`;
    equal(parseTimestamp(zoned), ms, zoned);
    equal(isCanonicalTimestamp(zoned), false);
  }
});

Deno.test("parseTimestamp() rejects malformed text", () => {
  const bad = [
    "2026-1a-26T20:00:00Z",
    "2026-11-26T20:00:0aZ",
    "2026-11-26T20:00:00+0530",
    "2026-11-26T20:00:00+05:3",
    "2026-11-26T20:00:00+05:30Z",
    "2026-11-26T20:00:00ZZ",
    "2026-11-26T20:00:00.Z",
    "2026-11-26T20:00:00.12a Z",
    "2026-11-26T20:00:00",
    "2026/11/26T20:00:00Z",
    "2026-11-26T20-00-00Z",
    "-026-11-26T20:00:00Z",
    "２026-11-26T20:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-01-00T00:00:00Z",
    "1900-02-29T00:00:00Z",
  ];
  for (const text of bad) ok(Number.isNaN(parseTimestamp(text)), text);
  equal(parseTimestamp("2000-02-29T00:00:00Z"), Date.UTC(2000, 1, 29));
  equal(parseTimestamp("0050-06-01T00:00:00Z"), Date.parse("0050-06-01T00:00:00Z"));
});
