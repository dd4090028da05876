/**
 * The `Order` domain value: the wire shape ({@link RawOrder}), the validated immutable value
 * ({@link Order}) and the single factory that turns untrusted input into it
 * ({@link Order.fromRaw}).
 *
 * The schema is **closed**: unknown top-level or item fields are rejected by name, so a typo
 * (`unitPrice` for `unit_price`) or smuggled data never reaches the sink silently.
 *
 * @module
 */

import { isCanonicalTimestamp, parseTimestamp, TIMESTAMP_MAX_LENGTH } from "./_timestamp.ts";

/** Schema identifier of the order event (also sent as the Kafka header `schema`). */
export const ORDER_SCHEMA = "orderflow.order.v1";

/**
 * Allowed order IDs: an ASCII letter or digit, then up to 63 letters, digits, `_` or `-`.
 * No dots, slashes, backslashes, spaces, control characters or non-ASCII lookalikes, so an ID
 * is always safe inside an object key or a file name.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { ORDER_ID_PATTERN } from "./order.ts";
 * ok(ORDER_ID_PATTERN.test("ord-000123"));
 * ok(!ORDER_ID_PATTERN.test("../etc"));
 * ```
 */
export const ORDER_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Allowed customer IDs: like order IDs, additionally allowing `.` and `:` inside. */
export const CUSTOMER_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Allowed SKUs: an ASCII letter or digit, then up to 63 letters, digits, `_`, `.`, `:` or `-`. */
export const SKU_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Allowed channels: a lower-case letter, then up to 31 lower-case letters, digits, `_`, `-`. */
export const CHANNEL_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,31}$/;

/** Allowed currencies: three upper-case ASCII letters (ISO 4217 shape; not checked against a list). */
export const CURRENCY_PATTERN: RegExp = /^[A-Z]{3}$/;

/**
 * Limits enforced by {@link Order.fromRaw}.
 *
 * - Money (`unit_price`, `total`) is in currency units, must be `> 0`, `<= maxAmount`, and have
 *   at most 2 decimal places (checked on `amount * 100` with a 1e-6 float tolerance, so
 *   `0.1 + 0.2` counts as `0.30` while `10.001` is rejected).
 * - `total` must equal the sum of `quantity * unit_price` within `totalTolerance` (half a cent);
 *   since both sides are whole cents this means equal in cents.
 * - Timestamps must not be earlier than `minTimestampMs` (2000-01-01T00:00:00Z) nor later than
 *   `now + maxClockSkewMs` (5 minutes).
 * - At most `maxIssues` problems are listed in an error; the rest are counted in `omitted`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ORDER_LIMITS } from "./order.ts";
 * equal(ORDER_LIMITS.maxItems, 1000);
 * ```
 */
export const ORDER_LIMITS = Object.freeze(
  {
    /** Longest order ID (also encoded in {@link ORDER_ID_PATTERN}). */
    orderIdMaxLength: 64,
    /** Longest customer ID. */
    customerIdMaxLength: 64,
    /** Longest SKU. */
    skuMaxLength: 64,
    /** Longest channel name. */
    channelMaxLength: 32,
    /** Most items in one order. */
    maxItems: 1000,
    /** Largest quantity of one item (quantities are integers >= 1). */
    maxQuantity: 10_000,
    /** Largest unit price and largest total, in currency units. */
    maxAmount: 10_000_000,
    /** Decimal places allowed in money amounts. */
    amountDecimals: 2,
    /** Allowed difference between `total` and the sum of the items: half a cent. */
    totalTolerance: 0.005,
    /** Longest timestamp text. */
    timestampMaxLength: TIMESTAMP_MAX_LENGTH,
    /** Earliest accepted timestamp: 2000-01-01T00:00:00.000Z. */
    minTimestampMs: 946_684_800_000,
    /** How far in the future (relative to `now`) a timestamp may be: 5 minutes. */
    maxClockSkewMs: 300_000,
    /** Most issues listed in one {@link OrderValidationError}. */
    maxIssues: 100,
  } as const,
);

/** One line item on the wire. */
export interface RawOrderItem {
  /** Stock keeping unit, see {@link SKU_PATTERN}. */
  readonly sku: string;
  /** Integer, 1 to `ORDER_LIMITS.maxQuantity`. */
  readonly quantity: number;
  /** Price of one unit in currency units, > 0, at most 2 decimals. */
  readonly unit_price: number;
}

/**
 * The wire JSON of an order event (schema {@link ORDER_SCHEMA}).
 *
 * @example
 * ```ts
 * import type { RawOrder } from "./order.ts";
 * const raw: RawOrder = {
 *   orderId: "ord-000123", customerId: "cust-42", channel: "web",
 *   items: [{ sku: "SKU-1", quantity: 2, unit_price: 10.5 }], total: 21, currency: "USD",
 *   created_at: "2026-11-26T20:00:00.000Z",
 * };
 * ```
 */
export interface RawOrder {
  /** See {@link ORDER_ID_PATTERN}. */
  readonly orderId: string;
  /** See {@link CUSTOMER_ID_PATTERN}. */
  readonly customerId: string;
  /** Sales channel, selects the risk scorer; see {@link CHANNEL_PATTERN}. */
  readonly channel: string;
  /** 1 to `ORDER_LIMITS.maxItems` items. */
  readonly items: readonly RawOrderItem[];
  /** Sum of `quantity * unit_price` (to the cent). */
  readonly total: number;
  /** See {@link CURRENCY_PATTERN}. */
  readonly currency: string;
  /** RFC 3339 timestamp with zone. */
  readonly created_at: string;
  /** Optional RFC 3339 timestamp with zone, set by the producer when it sent the event. */
  readonly produced_at?: string;
}

/** A validated line item (frozen). */
export interface OrderItem {
  /** Stock keeping unit. */
  readonly sku: string;
  /** Integer >= 1. */
  readonly quantity: number;
  /** Price of one unit in currency units. */
  readonly unitPrice: number;
}

/** The validated order fields (camelCase); what scorers and sinks see. */
export interface OrderData {
  /** Matches {@link ORDER_ID_PATTERN}. */
  readonly orderId: string;
  /** Matches {@link CUSTOMER_ID_PATTERN}. */
  readonly customerId: string;
  /** Matches {@link CHANNEL_PATTERN}. */
  readonly channel: string;
  /** Non-empty, frozen. */
  readonly items: readonly OrderItem[];
  /** Equals the sum of the items to the cent. */
  readonly total: number;
  /** Matches {@link CURRENCY_PATTERN}. */
  readonly currency: string;
  /** ISO-8601 UTC, normalised with `Date.prototype.toISOString()`. */
  readonly createdAt: string;
  /** ISO-8601 UTC when present. */
  readonly producedAt?: string;
}

/** One validation problem: the JSON path (`items[2].unit_price`, `$` for the root) and why. */
export interface OrderIssue {
  /** JSON path of the offending value; `$` is the root. */
  readonly path: string;
  /** What is wrong, without echoing more than a short preview of the value. */
  readonly message: string;
}

/** Options for {@link Order.fromRaw}. */
export interface FromRawOptions {
  /** Current time in epoch ms for the future-timestamp check; defaults to `Date.now()`. */
  readonly now?: number;
}

/**
 * Thrown by {@link Order.fromRaw} when the input is not a valid order; lists every problem.
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { Order, OrderValidationError } from "./order.ts";
 * try {
 *   Order.fromRaw({ orderId: "../x", items: [] });
 * } catch (error) {
 *   ok(error instanceof OrderValidationError && error instanceof TypeError);
 *   equal(error.issues[0]?.path, "orderId");
 *   ok(error.message.includes("items: must contain at least 1 item"));
 * }
 * ```
 */
export class OrderValidationError extends TypeError {
  /** Every problem found (at most `ORDER_LIMITS.maxIssues`), in field order. */
  readonly issues: readonly OrderIssue[];
  /** How many further problems were found but not listed. */
  readonly omitted: number;
  /** The order ID when it was itself valid (safe to log or use in a key), else undefined. */
  readonly orderId: string | undefined;

  /** Builds the error; the message lists the issues one per line. */
  constructor(
    issues: readonly OrderIssue[],
    options?: { readonly omitted?: number; readonly orderId?: string; readonly cause?: unknown },
  ) {
    const omitted = options?.omitted ?? 0;
    const orderId = options?.orderId;
    const total = issues.length + omitted;
    const head = `Cannot accept order${orderId === undefined ? "" : ` "${orderId}"`}: ${total} ${
      total === 1 ? "problem" : "problems"
    }`;
    const lines = issues.map((issue) => `\n  - ${issue.path}: ${issue.message}`).join("");
    const tail = omitted > 0 ? `\n  - ... and ${omitted} more` : "";
    super(
      head + lines + tail,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "OrderValidationError";
    this.issues = Object.freeze(issues.slice());
    this.omitted = omitted;
    this.orderId = orderId;
  }
}

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
 * Collects issues for one `fromRaw` call; allocates nothing until the first issue.
 */
class Issues {
  list: OrderIssue[] | undefined = undefined;
  omitted = 0;

  add(path: string, message: string): void {
    const list = this.list ??= [];
    if (list.length < ORDER_LIMITS.maxIssues) list.push({ path, message });
    else this.omitted++;
  }

  get any(): boolean {
    return this.list !== undefined;
  }
}

/**
 * A validated, immutable order. Instances, their `items` array and every item are frozen.
 * The only way to get one is {@link Order.fromRaw} (or {@link Order.fromData}).
 *
 * @example
 * ```ts
 * import { deepEqual, equal, ok, throws } from "node:assert/strict";
 * import { Order, OrderValidationError } from "./order.ts";
 *
 * const order = Order.fromRaw({
 *   orderId: "ord-000123", customerId: "cust-42", channel: "web",
 *   items: [{ sku: "SKU-1", quantity: 2, unit_price: 10.5 }], total: 21, currency: "USD",
 *   created_at: "2026-11-26T21:00:00+01:00",
 * }, { now: Date.parse("2026-11-26T20:00:01Z") });
 * equal(order.createdAt, "2026-11-26T20:00:00.000Z");
 * equal(order.items[0]?.unitPrice, 10.5);
 * ok(Object.isFrozen(order) && Object.isFrozen(order.items));
 * deepEqual(JSON.parse(JSON.stringify(order)).items, [{ sku: "SKU-1", quantity: 2, unit_price: 10.5 }]);
 * throws(() => Order.fromRaw({ ...order.toJSON(), total: 20 }), OrderValidationError);
 * ```
 */
export class Order implements OrderData {
  /** See {@link OrderData.orderId}. */
  readonly orderId: string;
  /** See {@link OrderData.customerId}. */
  readonly customerId: string;
  /** See {@link OrderData.channel}. */
  readonly channel: string;
  /** See {@link OrderData.items}. */
  readonly items: readonly OrderItem[];
  /** See {@link OrderData.total}. */
  readonly total: number;
  /** See {@link OrderData.currency}. */
  readonly currency: string;
  /** See {@link OrderData.createdAt}. */
  readonly createdAt: string;
  /** See {@link OrderData.producedAt}; the property is absent (not `undefined`) when not set. */
  declare readonly producedAt?: string;
  /** Brand: only the constructor (behind `fromRaw`) sets it; see {@link Order.isOrder}. */
  readonly #validated = true;

  private constructor(
    orderId: string,
    customerId: string,
    channel: string,
    items: readonly OrderItem[],
    total: number,
    currency: string,
    createdAt: string,
    producedAt: string | undefined,
  ) {
    this.orderId = orderId;
    this.customerId = customerId;
    this.channel = channel;
    this.items = items;
    this.total = total;
    this.currency = currency;
    this.createdAt = createdAt;
    if (producedAt !== undefined) (this as { producedAt?: string }).producedAt = producedAt;
    Object.freeze(this);
  }

  /**
   * Validates untrusted input (usually `JSON.parse` output) and returns a frozen `Order`.
   * Throws {@link OrderValidationError} listing every problem (see {@link ORDER_LIMITS} for the
   * rules); throws `RangeError` if `options.now` is not a finite number.
   *
   * Each field is read once (as an own property), so getters or a polluted `Object.prototype`
   * cannot make validation and use disagree. `items` longer than `ORDER_LIMITS.maxItems` is
   * rejected without looking at its elements.
   */
  static fromRaw(raw: unknown, options?: FromRawOptions): Order {
    const now = options?.now ?? Date.now();
    if (typeof now !== "number" || !Number.isFinite(now)) {
      throw new RangeError(`Cannot validate order: "now" must be a finite number, got ${now}`);
    }
    const issues = new Issues();
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      issues.add("$", `must be a JSON object, got ${describe(raw)}`);
      throw toError(issues, undefined);
    }
    const proto = Object.getPrototypeOf(raw);
    if (proto !== Object.prototype && proto !== null) {
      issues.add("$", "must be a plain object");
      throw toError(issues, undefined);
    }
    const record = raw as Record<string, unknown>;
    for (const key in record) {
      if (hasOwn(record, key) && !TOP_LEVEL_FIELDS.has(key)) {
        issues.add(fieldPath("", key), "is not a field of an order (the schema is closed)");
      }
    }

    const orderId = checkString(
      issues,
      "orderId",
      own(record, "orderId"),
      ORDER_LIMITS.orderIdMaxLength,
      ORDER_ID_PATTERN,
      "letters, digits, '_' or '-', starting with a letter or digit",
    );
    const customerId = checkString(
      issues,
      "customerId",
      own(record, "customerId"),
      ORDER_LIMITS.customerIdMaxLength,
      CUSTOMER_ID_PATTERN,
      "letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
    );
    const channel = checkString(
      issues,
      "channel",
      own(record, "channel"),
      ORDER_LIMITS.channelMaxLength,
      CHANNEL_PATTERN,
      "lower-case letters, digits, '_' or '-', starting with a letter",
    );
    const items = checkItems(issues, own(record, "items"));
    const total = checkAmount(issues, "total", own(record, "total"));
    const currency = checkString(
      issues,
      "currency",
      own(record, "currency"),
      3,
      CURRENCY_PATTERN,
      "three upper-case letters such as USD",
    );
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
    return new Order(
      orderId!,
      customerId!,
      channel!,
      items!,
      total!,
      currency!,
      createdAt!,
      producedAt,
    );
  }

  /**
   * Re-validates camelCase order data (for example an `OrderData` that crossed a worker
   * boundary) into an `Order`. Issue paths use the wire names (`items[0].unit_price`).
   *
   * @example
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { Order } from "./order.ts";
   * const a = Order.fromRaw({
   *   orderId: "o1", customerId: "c1", channel: "mobile",
   *   items: [{ sku: "S", quantity: 1, unit_price: 5 }], total: 5, currency: "EUR",
   *   created_at: "2026-01-01T00:00:00Z",
   * });
   * const b = Order.fromData(structuredClone({ ...a, items: a.items }));
   * equal(b.createdAt, a.createdAt);
   * ```
   */
  static fromData(data: OrderData, options?: FromRawOptions): Order {
    return Order.fromRaw(toRawOrder(data), options);
  }

  /**
   * True when `value` was made by {@link Order.fromRaw} (or {@link Order.fromData}), i.e. it is
   * validated and frozen. Unlike `instanceof`, an object made with
   * `Object.create(Order.prototype)` does not pass.
   *
   * @example
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { Order } from "./order.ts";
   * const order = Order.fromRaw({
   *   orderId: "o1", customerId: "c1", channel: "web",
   *   items: [{ sku: "S", quantity: 1, unit_price: 5 }], total: 5, currency: "EUR",
   *   created_at: "2026-01-01T00:00:00Z",
   * });
   * equal(Order.isOrder(order), true);
   * equal(Order.isOrder(Object.create(Order.prototype)), false);
   * equal(Order.isOrder({ ...order }), false);
   * ```
   */
  static isOrder(value: unknown): value is Order {
    return typeof value === "object" && value !== null && #validated in value;
  }

  /** Returns the wire form ({@link RawOrder}, snake_case); `JSON.stringify` uses it. */
  toJSON(): RawOrder {
    return toRawOrder(this);
  }
}

/**
 * Converts order data to its wire form (a fresh, unfrozen plain object). `produced_at` is
 * present only when `producedAt` is set.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { toRawOrder } from "./order.ts";
 * deepEqual(toRawOrder({
 *   orderId: "o1", customerId: "c1", channel: "web", items: [{ sku: "S", quantity: 1, unitPrice: 2 }],
 *   total: 2, currency: "USD", createdAt: "2026-01-01T00:00:00.000Z",
 * }), {
 *   orderId: "o1", customerId: "c1", channel: "web", items: [{ sku: "S", quantity: 1, unit_price: 2 }],
 *   total: 2, currency: "USD", created_at: "2026-01-01T00:00:00.000Z",
 * });
 * ```
 */
export function toRawOrder(data: OrderData): RawOrder {
  const items: RawOrderItem[] = [];
  for (const item of data.items) {
    items.push({ sku: item.sku, quantity: item.quantity, unit_price: item.unitPrice });
  }
  const raw: {
    orderId: string;
    customerId: string;
    channel: string;
    items: RawOrderItem[];
    total: number;
    currency: string;
    created_at: string;
    produced_at?: string;
  } = {
    orderId: data.orderId,
    customerId: data.customerId,
    channel: data.channel,
    items,
    total: data.total,
    currency: data.currency,
    created_at: data.createdAt,
  };
  if (data.producedAt !== undefined) raw.produced_at = data.producedAt;
  return raw;
}

function own(record: Record<string, unknown>, key: string): unknown {
  return hasOwn(record, key) ? record[key] : undefined;
}

function toError(issues: Issues, orderId: string | undefined): OrderValidationError {
  return new OrderValidationError(issues.list ?? [], {
    omitted: issues.omitted,
    ...(orderId === undefined ? {} : { orderId }),
  });
}

function checkString(
  issues: Issues,
  path: string,
  value: unknown,
  maxLength: number,
  pattern: RegExp,
  allowed: string,
): string | undefined {
  if (value === undefined) {
    issues.add(path, "is required");
    return undefined;
  }
  if (typeof value !== "string") {
    issues.add(path, `must be a string, got ${describe(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    issues.add(path, "must not be empty");
    return undefined;
  }
  if (value.length > maxLength) {
    issues.add(path, `must be at most ${maxLength} characters, got ${value.length}`);
    return undefined;
  }
  if (!pattern.test(value)) {
    issues.add(path, `must be ${allowed}, got ${preview(value)}`);
    return undefined;
  }
  return value;
}

function checkAmount(issues: Issues, path: string, value: unknown): number | undefined {
  if (value === undefined) {
    issues.add(path, "is required");
    return undefined;
  }
  if (typeof value !== "number") {
    issues.add(path, `must be a number, got ${describe(value)}`);
    return undefined;
  }
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
  if (value === undefined) {
    issues.add(path, "is required");
    return undefined;
  }
  if (typeof value !== "number") {
    issues.add(path, `must be a number, got ${describe(value)}`);
    return undefined;
  }
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
    const entry: unknown = value[i];
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      issues.add(`items[${i}]`, `must be an object, got ${describe(entry)}`);
      ok = false;
      continue;
    }
    const proto = Object.getPrototypeOf(entry);
    if (proto !== Object.prototype && proto !== null) {
      issues.add(`items[${i}]`, "must be a plain object");
      ok = false;
      continue;
    }
    const item = entry as Record<string, unknown>;
    for (const key in item) {
      if (hasOwn(item, key) && !ITEM_FIELDS.has(key)) {
        issues.add(
          fieldPath(`items[${i}]`, key),
          "is not a field of an order item (the schema is closed)",
        );
        ok = false;
      }
    }
    const sku = checkString(
      issues,
      `items[${i}].sku`,
      own(item, "sku"),
      ORDER_LIMITS.skuMaxLength,
      SKU_PATTERN,
      "letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
    );
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
  if (value === undefined) {
    issues.add(path, "is required");
    return undefined;
  }
  if (typeof value !== "string") {
    issues.add(path, `must be a string, got ${describe(value)}`);
    return undefined;
  }
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
