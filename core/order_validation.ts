/**
 * Validation of untrusted order input: {@link validateOrder}, behind `Order.fromRaw` (use that;
 * this module is not exported from `order.ts` or `mod.ts`). It throws `OrderValidationError`
 * listing every problem by JSON path.
 *
 * The schema is **closed**: unknown top-level or item fields are rejected by name, so a typo
 * (`unitPrice` for `unit_price`) or smuggled data never reaches the sink silently.
 *
 * @module
 */

import { isCanonicalTimestamp, parseTimestamp } from "./_timestamp.ts";
import {
  CHANNEL_PATTERN,
  CURRENCY_PATTERN,
  CUSTOMER_ID_PATTERN,
  ORDER_ID_PATTERN,
  ORDER_LIMITS,
  SKU_PATTERN,
} from "./order_rules.ts";
import type { OrderData, OrderItem } from "./order_wire.ts";
import { Issues, toError } from "./order_error.ts";

/** How a string field is checked: its longest length, its pattern, and the pattern in words. */
interface StringRule {
  readonly maxLength: number;
  readonly pattern: RegExp;
  readonly allowed: string;
}

const ID_CHARACTERS = "letters, digits, '_', '.', ':' or '-', starting with a letter or digit";
const ORDER_ID: StringRule = {
  maxLength: ORDER_LIMITS.orderIdMaxLength,
  pattern: ORDER_ID_PATTERN,
  allowed: "letters, digits, '_' or '-', starting with a letter or digit",
};
const CUSTOMER_ID: StringRule = {
  maxLength: ORDER_LIMITS.customerIdMaxLength,
  pattern: CUSTOMER_ID_PATTERN,
  allowed: ID_CHARACTERS,
};
const CHANNEL: StringRule = {
  maxLength: ORDER_LIMITS.channelMaxLength,
  pattern: CHANNEL_PATTERN,
  allowed: "lower-case letters, digits, '_' or '-', starting with a letter",
};
const CURRENCY: StringRule = {
  maxLength: 3,
  pattern: CURRENCY_PATTERN,
  allowed: "three upper-case letters such as USD",
};
const SKU: StringRule = {
  maxLength: ORDER_LIMITS.skuMaxLength,
  pattern: SKU_PATTERN,
  allowed: ID_CHARACTERS,
};

const TOP_LEVEL_FIELDS: ReadonlySet<string> = new Set([
  "orderId",
  "customerId",
  "channel",
  "items",
  "total",
  "currency",
  "created_at",
  "produced_at",
]);
const ITEM_FIELDS: ReadonlySet<string> = new Set(["sku", "quantity", "unit_price"]);
const { hasOwn } = Object;

/**
 * Validates untrusted input (usually `JSON.parse` output) against the order rules and returns
 * its fields, items frozen; throws `OrderValidationError` listing every problem. `now`
 * (epoch ms, finite) bounds future timestamps.
 *
 * Each field is read once (as an own property), so getters or a polluted `Object.prototype`
 * cannot make validation and use disagree. `items` longer than `ORDER_LIMITS.maxItems` is
 * rejected without looking at its elements.
 */
export function validateOrder(raw: unknown, now: number): OrderData {
  const issues = new Issues();
  const record = plainRecord(issues, ROOT, raw);
  if (record === undefined) throw toError(issues, undefined);
  closedFields(issues, ROOT, record);

  const orderId = checkString(issues, "orderId", own(record, "orderId"), ORDER_ID);
  const customerId = checkString(issues, "customerId", own(record, "customerId"), CUSTOMER_ID);
  const channel = checkString(issues, "channel", own(record, "channel"), CHANNEL);
  const items = checkItems(issues, own(record, "items"));
  const total = checkAmount(issues, "total", own(record, "total"));
  const currency = checkString(issues, "currency", own(record, "currency"), CURRENCY);
  const createdAt = checkTimestamp(issues, "created_at", own(record, "created_at"), now);
  const rawProducedAt = own(record, "produced_at");
  const producedAt = rawProducedAt === undefined
    ? undefined
    : checkTimestamp(issues, "produced_at", rawProducedAt, now);

  if (items !== undefined && total !== undefined) {
    let sumCents = 0;
    for (const item of items) sumCents += item.quantity * Math.round(item.unitPrice * 100);
    if (Math.abs(total * 100 - sumCents) > ORDER_LIMITS.totalTolerance * 100) {
      issues.add(
        "total",
        `must equal the sum of quantity * unit_price (${formatCents(sumCents)}), got ${total}`,
      );
    }
  }

  if (issues.any) throw toError(issues, orderId);
  // Every value is defined when no issue was recorded.
  const fields = {
    orderId: orderId!,
    customerId: customerId!,
    channel: channel!,
    items: items!,
    total: total!,
    currency: currency!,
    createdAt: createdAt!,
  };
  return producedAt === undefined ? fields : { ...fields, producedAt };
}

function own(record: Record<string, unknown>, key: string): unknown {
  return hasOwn(record, key) ? record[key] : undefined;
}

/**
 * Where a record sits, for {@link plainRecord} and {@link closedFields}: the order itself
 * (`ROOT`) or the item at an index. Paths are built only for an issue, not per item.
 */
const ROOT = -1;

/** `value` as a record when it is a plain object (not an array, not a class instance). */
function plainRecord(
  issues: Issues,
  where: number,
  value: unknown,
): Record<string, unknown> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const noun = where === ROOT ? "a JSON object" : "an object";
    issues.add(where === ROOT ? "$" : `items[${where}]`, `must be ${noun}, got ${describe(value)}`);
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    issues.add(where === ROOT ? "$" : `items[${where}]`, "must be a plain object");
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** Records every own key of `record` that is not a field of it; true when there was none. */
function closedFields(issues: Issues, where: number, record: Record<string, unknown>): boolean {
  const fields = where === ROOT ? TOP_LEVEL_FIELDS : ITEM_FIELDS;
  let closed = true;
  for (const key in record) {
    if (hasOwn(record, key) && !fields.has(key)) {
      const [prefix, what] = where === ROOT
        ? ["", "an order"]
        : [`items[${where}]`, "an order item"];
      issues.add(fieldPath(prefix, key), `is not a field of ${what} (the schema is closed)`);
      closed = false;
    }
  }
  return closed;
}

/** True when `value` is present and a `type`; else records why. */
function present<K extends keyof TypeNames>(
  issues: Issues,
  path: string,
  value: unknown,
  type: K,
): value is TypeNames[K] {
  if (value === undefined) {
    issues.add(path, "is required");
    return false;
  }
  // typeof against literals: engines compile that to a type test, not a string comparison.
  if (type === "string" ? typeof value !== "string" : typeof value !== "number") {
    issues.add(path, `must be a ${type}, got ${describe(value)}`);
    return false;
  }
  return true;
}

interface TypeNames {
  string: string;
  number: number;
}

function checkString(
  issues: Issues,
  path: string,
  value: unknown,
  rule: StringRule,
): string | undefined {
  if (!present(issues, path, value, "string")) return undefined;
  if (value.length === 0) {
    issues.add(path, "must not be empty");
    return undefined;
  }
  if (value.length > rule.maxLength) {
    issues.add(path, `must be at most ${rule.maxLength} characters, got ${value.length}`);
    return undefined;
  }
  if (!rule.pattern.test(value)) {
    issues.add(path, `must be ${rule.allowed}, got ${preview(value)}`);
    return undefined;
  }
  return value;
}

function checkAmount(issues: Issues, path: string, value: unknown): number | undefined {
  if (!present(issues, path, value, "number")) return undefined;
  if (!Number.isFinite(value)) {
    issues.add(path, `must be a finite number, got ${value}`);
    return undefined;
  }
  if (value <= 0) {
    issues.add(path, `must be greater than 0, got ${value}`);
    return undefined;
  }
  if (value > ORDER_LIMITS.maxAmount) {
    issues.add(path, `must be at most ${ORDER_LIMITS.maxAmount}, got ${value}`);
    return undefined;
  }
  const cents = value * 100;
  if (Math.abs(cents - Math.round(cents)) > 1e-6) {
    issues.add(path, `must have at most 2 decimal places, got ${value}`);
    return undefined;
  }
  return value;
}

function checkQuantity(issues: Issues, path: string, value: unknown): number | undefined {
  if (!present(issues, path, value, "number")) return undefined;
  if (!Number.isInteger(value)) {
    issues.add(path, `must be an integer, got ${value}`);
    return undefined;
  }
  if (value < 1 || value > ORDER_LIMITS.maxQuantity) {
    issues.add(path, `must be between 1 and ${ORDER_LIMITS.maxQuantity}, got ${value}`);
    return undefined;
  }
  return value;
}

function checkItems(issues: Issues, value: unknown): readonly OrderItem[] | undefined {
  if (value === undefined) {
    issues.add("items", "is required");
    return undefined;
  }
  if (!Array.isArray(value)) {
    issues.add("items", `must be an array, got ${describe(value)}`);
    return undefined;
  }
  const length = value.length;
  if (length === 0) {
    issues.add("items", "must contain at least 1 item");
    return undefined;
  }
  if (length > ORDER_LIMITS.maxItems) {
    issues.add("items", `must contain at most ${ORDER_LIMITS.maxItems} items, got ${length}`);
    return undefined;
  }
  const out: OrderItem[] = new Array(length);
  let ok = true;
  for (let i = 0; i < length; i++) {
    const item = plainRecord(issues, i, value[i]);
    if (item === undefined) {
      ok = false;
      continue;
    }
    if (!closedFields(issues, i, item)) ok = false;
    const sku = checkString(issues, `items[${i}].sku`, own(item, "sku"), SKU);
    const quantity = checkQuantity(issues, `items[${i}].quantity`, own(item, "quantity"));
    const unitPrice = checkAmount(issues, `items[${i}].unit_price`, own(item, "unit_price"));
    if (sku === undefined || quantity === undefined || unitPrice === undefined) {
      ok = false;
      continue;
    }
    out[i] = Object.freeze({ sku, quantity, unitPrice });
  }
  return ok ? Object.freeze(out) : undefined;
}

function checkTimestamp(
  issues: Issues,
  path: string,
  value: unknown,
  now: number,
): string | undefined {
  if (!present(issues, path, value, "string")) return undefined;
  const ms = parseTimestamp(value);
  if (Number.isNaN(ms)) {
    issues.add(
      path,
      `must be an ISO-8601 timestamp with a zone such as 2026-11-26T20:00:00.000Z, got ${
        preview(value)
      }`,
    );
    return undefined;
  }
  if (ms < ORDER_LIMITS.minTimestampMs) {
    issues.add(path, `must not be before 2000-01-01T00:00:00Z, got ${preview(value)}`);
    return undefined;
  }
  if (ms > ORDER_LIMITS.maxTimestampMs) {
    // Checked apart from `now`, which may be as late as the producer likes (a record timestamp).
    const last = new Date(ORDER_LIMITS.maxTimestampMs).toISOString();
    issues.add(path, `must not be after ${last} (in UTC), got ${preview(value)}`);
    return undefined;
  }
  if (ms > now + ORDER_LIMITS.maxClockSkewMs) {
    issues.add(
      path,
      `must not be more than 5 minutes in the future (now is ${new Date(now).toISOString()}), got ${
        preview(value)
      }`,
    );
    return undefined;
  }
  return isCanonicalTimestamp(value) ? value : new Date(ms).toISOString();
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return `number ${value}`;
  return typeof value;
}

/** A JSON-quoted preview of at most 32 characters (control characters escaped). */
function preview(value: string): string {
  return value.length > 32 ? `${JSON.stringify(value.slice(0, 32))}...` : JSON.stringify(value);
}

/** A path to an unknown key: `.name` for plain identifiers, `["quoted..."]` (truncated) else. */
function fieldPath(prefix: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(key)) return prefix === "" ? key : `${prefix}.${key}`;
  return `${prefix === "" ? "$" : prefix}[${preview(key)}]`;
}

function formatCents(cents: number): string {
  return (cents / 100).toFixed(2);
}
