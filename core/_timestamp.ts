/**
 * Private helper: strict RFC 3339 timestamp parsing shared by `order.ts` and `order_key.ts`.
 * Not exported from `mod.ts`.
 *
 * @module
 */

/** Longest accepted timestamp text: `YYYY-MM-DDTHH:MM:SS.fffffffff+HH:MM` is 35 characters. */
export const TIMESTAMP_MAX_LENGTH = 35;

/**
 * Parses an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, upper-case `T` and
 * `Z`, 1–9 fraction digits truncated to milliseconds) into epoch milliseconds.
 *
 * Returns `NaN` for anything else: a missing zone, calendar-invalid dates (`02-30`), hour 24,
 * leap second 60, offsets beyond ±23:59, or text longer than {@link TIMESTAMP_MAX_LENGTH}.
 * A hand-written scanner (no regex, no allocation): it runs for every consumed record.
 */
export function parseTimestamp(text: string): number {
  const length = text.length;
  if (length < 20 || length > TIMESTAMP_MAX_LENGTH) return NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (
    text.charCodeAt(4) !== DASH || text.charCodeAt(7) !== DASH || text.charCodeAt(10) !== UPPER_T ||
    text.charCodeAt(13) !== COLON || text.charCodeAt(16) !== COLON
  ) return NaN;
  // digits() returns NaN for a non-digit; every comparison with NaN is false, so test "valid".
  if (!(month >= 1 && month <= 12 && day >= 1 && hour <= 23 && minute <= 59 && second <= 59)) {
    return NaN;
  }
  if (!(year >= 0) || day > daysInMonth(year, month)) return NaN;
  let i = 19;
  let ms = 0;
  if (text.charCodeAt(i) === DOT) {
    i++;
    const fractionStart = i;
    while (i < length && isDigit(text.charCodeAt(i))) i++;
    const fractionLength = i - fractionStart;
    if (fractionLength < 1 || fractionLength > 9) return NaN;
    for (let k = 0; k < 3; k++) {
      ms = ms * 10 + (k < fractionLength ? text.charCodeAt(fractionStart + k) - ZERO : 0);
    }
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(i);
  if (zone === UPPER_Z) {
    if (i + 1 !== length) return NaN;
  } else if (zone === PLUS || zone === DASH) {
    if (i + 6 !== length || text.charCodeAt(i + 3) !== COLON) return NaN;
    const offHours = digits(text, i + 1, 2);
    const offMinutes = digits(text, i + 4, 2);
    if (!(offHours <= 23 && offMinutes <= 59)) return NaN;
    offsetMinutes = (offHours * 60 + offMinutes) * (zone === DASH ? -1 : 1);
  } else {
    return NaN;
  }
  // Date.UTC maps years 0–99 to 1900–1999; correct for them so the value is exact.
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const exact = year < 100 ? local + yearFixup(year) : local;
  return exact - offsetMinutes * 60_000;
}

/**
 * True when `text` (already accepted by {@link parseTimestamp}) is exactly what
 * `new Date(ms).toISOString()` would print, so callers can skip re-formatting it.
 */
export function isCanonicalTimestamp(text: string): boolean {
  return text.length === 24 && text.charCodeAt(19) === DOT && text.charCodeAt(23) === UPPER_Z;
}

const ZERO = 48;
const DASH = 45;
const PLUS = 43;
const COLON = 58;
const DOT = 46;
const UPPER_T = 84;
const UPPER_Z = 90;

function isDigit(code: number): boolean {
  return code >= ZERO && code <= ZERO + 9;
}

/** The decimal value of `count` digits at `start`, or NaN if any is not a digit. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let k = 0; k < count; k++) {
    const code = text.charCodeAt(start + k);
    if (!isDigit(code)) return NaN;
    value = value * 10 + code - ZERO;
  }
  return value;
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
