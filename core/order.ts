/**
 * The `Order` domain value: the validated immutable value ({@link Order}) and the single factory
 * that turns untrusted input into it ({@link Order.fromRaw}). This module also re-exports the
 * order's rules (`order_rules.ts`), its wire and data shapes (`order_wire.ts`) and its
 * validation error (`order_error.ts`), so `order.ts` is the one import for all of them.
 *
 * The schema is **closed**: unknown top-level or item fields are rejected by name, so a typo
 * (`unitPrice` for `unit_price`) or smuggled data never reaches the sink silently.
 *
 * @module
 */

import { validateOrder } from "./order_validation.ts";
import { type OrderData, type RawOrder, toRawOrder } from "./order_wire.ts";

export * from "./order_rules.ts";
export * from "./order_wire.ts";
export { type OrderIssue, OrderValidationError } from "./order_error.ts";

/** Options for {@link Order.fromRaw}. */
export interface FromRawOptions {
  /** Current time in epoch ms for the future-timestamp check; defaults to `Date.now()`. */
  readonly now?: number;
}

/**
 * The base that gives `Order` the fields of {@link OrderData} (documented there) as its instance
 * type without listing them again; the `Order` constructor sets them.
 */
const OrderFields: new () => OrderData = class {} as new () => OrderData;

/**
 * A validated, immutable order. Its fields are those of {@link OrderData} (`producedAt` is
 * absent, not `undefined`, when not set). Instances, their `items` array and every item are frozen.
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
export class Order extends OrderFields {
  /** Brand: only the constructor (behind `fromRaw`) sets it; see {@link Order.isOrder}. */
  readonly #validated = true;

  /** Copies validated fields (`validateOrder`'s result); `producedAt` only when it is set. */
  private constructor(data: OrderData) {
    super();
    const self = this as { -readonly [K in keyof OrderData]: OrderData[K] };
    self.orderId = data.orderId;
    self.customerId = data.customerId;
    self.channel = data.channel;
    self.items = data.items;
    self.total = data.total;
    self.currency = data.currency;
    self.createdAt = data.createdAt;
    if (data.producedAt !== undefined) self.producedAt = data.producedAt;
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
    return new Order(validateOrder(raw, now));
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
