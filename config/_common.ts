/**
 * What the settings modules share: the variable reader's type and deep freezing. Not exported
 * from `settings.ts`.
 *
 * @module
 */

/**
 * Reads one variable: trimmed, and `undefined` when unset or empty (empty counts as unset).
 */
export type Get = (name: string) => string | undefined;

/** Freezes `value` and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
