import assert from "node:assert/strict";
import { CHANNEL_PATTERN as CORE_CHANNEL_PATTERN } from "../core/order.ts";
import {
  CHANNEL_PATTERN,
  resolveOptions,
  ScorerSpecError,
  validateScorerSpec,
} from "./contract.ts";

Deno.test("CHANNEL_PATTERN of the SDK is the one core/order.ts validates orders with", () => {
  assert.equal(CHANNEL_PATTERN.source, CORE_CHANNEL_PATTERN.source);
  assert.equal(CHANNEL_PATTERN.flags, CORE_CHANNEL_PATTERN.flags);
});

Deno.test("validateScorerSpec() names every option problem; a default must obey its own rules", () => {
  const spec = (options: Record<string, unknown>) => ({
    name: "web",
    channel: "web",
    apiVersion: 1,
    description: "d",
    options,
  });
  assert.deepEqual(
    validateScorerSpec(spec({
      low: { type: "number", default: 0, min: 1, description: "d" },
      nan: { type: "number", default: NaN, description: "d" },
      bound: { type: "number", default: 1, max: "2", description: "d" },
      pick: { type: "string", default: "c", enum: ["a", "b"], description: "d" },
      badEnum: { type: "string", default: "a", enum: "a", description: "d" },
      flag: { type: "boolean", default: 1, description: "" },
      extra: { type: "boolean", default: true, min: 0, description: "d" },
      kind: { type: "date", default: 0, description: "d" },
    })),
    [
      "options.low.default must be >= 1, got 0",
      "options.nan.default must be a finite number, got null",
      "options.bound.max must be a finite number",
      'options.pick.default must be one of "a", "b"',
      "options.badEnum.enum must be an array of strings",
      "options.flag.description must be a non-empty string",
      "options.flag.default must be a boolean, got 1",
      "options.extra.min is not a known field",
      'options.kind.type must be "number", "string" or "boolean"',
    ],
  );
  assert.deepEqual(
    validateScorerSpec(spec({ ok: { type: "number", default: 1, min: 1, description: "d" } })),
    [],
  );
});

Deno.test("resolveOptions() rejects undeclared and out-of-range options together", () => {
  const s = {
    name: "web",
    channel: "web",
    apiVersion: 1,
    description: "d",
    options: { scale: { type: "number", default: 10, max: 100, description: "d" } },
  } as const;
  assert.throws(
    () => resolveOptions(s, { scale: 101, sclae: 5 }),
    (error: unknown) =>
      error instanceof ScorerSpecError && error.problems.length === 2 &&
      error.problems[0] === 'option "sclae" is not declared by the scorer (known: scale)' &&
      error.problems[1] === 'option "scale" must be <= 100, got 101',
  );
  assert.throws(() => resolveOptions(s, []), /options must be an object/);
});
