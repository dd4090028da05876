/**
 * How a rejected order is reported: {@link OrderValidationError} lists every problem
 * ({@link OrderIssue}) by JSON path. Import them from `order.ts` (or `mod.ts`).
 *
 * @module
 */

import { ORDER_LIMITS } from "./order_rules.ts";

/** One validation problem: the JSON path (`items[2].unit_price`, `$` for the root) and why. */
export interface OrderIssue {
  /** JSON path of the offending value; `$` is the root. */
  readonly path: string;
  /** What is wrong, without echoing more than a short preview of the value. */
  readonly message: string;
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

/**
 * Collects issues for one `fromRaw` call; allocates nothing until the first issue.
 */
export class Issues {
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

/** The error for the issues collected (throw it when `issues.any`). */
export function toError(issues: Issues, orderId: string | undefined): OrderValidationError {
  return new OrderValidationError(issues.list ?? [], {
    omitted: issues.omitted,
    ...(orderId === undefined ? {} : { orderId }),
  });
}
