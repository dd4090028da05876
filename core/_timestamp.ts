/**
 * Private helper: strict RFC 3339 timestamp parsing shared by `order.ts` and `order_key.ts`.
 * Not exported from `mod.ts`.
 *
 * @module
 */

/** Longest accepted timestamp text: `YYYY-MM-DDTHH:MM:SS.fffffffff+HH:MM` is 35 characters. */
export const TIMESTAMP_MAX_LENGTH = 35;

// Linear: every group is fixed-width or a bounded digit run; no nested or overlapping quantifiers.
const TIMESTAMP_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, upper-case `T` and
 * `Z`, 1–9 fraction digits truncated to milliseconds) into epoch milliseconds.
 *
 * Returns `NaN` for anything else: a missing zone, calendar-invalid dates (`02-30`), hour 24,
 * leap second 60, offsets beyond ±23:59, or text longer than {@link TIMESTAMP_MAX_LENGTH}.
 */
export function parseTimestamp(text: string): number {
  if (text.length > TIMESTAMP_MAX_LENGTH) return NaN;
  const m = TIMESTAMP_PATTERN.exec(text);
  if (m === null) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return NaN;
  if (day > daysInMonth(year, month)) return NaN;
  const fraction = m[7];
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, "0"));
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offHours = Number(m[10]);
    const offMinutes = Number(m[11]);
    if (offHours > 23 || offMinutes > 59) return NaN;
    offsetMinutes = (offHours * 60 + offMinutes) * (m[9] === "-" ? -1 : 1);
  }
  // Date.UTC maps years 0–99 to 1900–1999; the setUTCFullYear-free way around it is not needed
  // because callers reject anything before 2000, but keep the value exact anyway.
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const exact = year < 100 ? local + yearFixup(year) : local;
  return exact - offsetMinutes * 60_000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function yearFixup(year: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, 0, 1);
  return d.getTime() - Date.UTC(year, 0, 1);
}
