/**
 * `deno task schema`: writes the order event's JSON Schema (draft 2020-12), generated from
 * core's patterns and limits by `orderJsonSchema()`, to `schema/order.v1.json`.
 * `--check` writes nothing and exits 1 when the committed file is out of date.
 *
 * @module
 */
import { EXIT, parseFlags, runTask } from "../cli/usage.ts";
import { orderJsonSchema } from "../core/order_schema.ts";

/** Where the schema is committed, relative to the repository root. */
export const SCHEMA_PATH = "schema/order.v1.json";

/**
 * The exact text of `schema/order.v1.json`: 2-space JSON and a final newline.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { schemaText } from "./schema.ts";
 * ok(schemaText().startsWith('{\n  "$schema": "https://json-schema.org/draft/2020-12/schema"'));
 * ```
 */
export function schemaText(): string {
  return `${JSON.stringify(orderJsonSchema(), null, 2)}\n`;
}

async function main(args: readonly string[]): Promise<number> {
  const url = new URL(`../${SCHEMA_PATH}`, import.meta.url);
  const { values } = parseFlags(args, { boolean: ["check"] });
  if (values.help) {
    console.log(
      `Usage: deno task schema [--check]\n\nWrites ${SCHEMA_PATH} from core/order.ts ` +
        `(orderJsonSchema in core/order_schema.ts).\n  --check  write nothing; exit 1 when ` +
        `${SCHEMA_PATH} is out of date`,
    );
    return EXIT.ok;
  }
  const text = schemaText();
  if (values.check) {
    let current = "";
    try {
      current = await Deno.readTextFile(url);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (current !== text) {
      console.error(`schema: ${SCHEMA_PATH} is out of date\nRun "deno task schema" and commit it.`);
      return EXIT.failure;
    }
    console.error(`schema: ${SCHEMA_PATH} is up to date`);
    return EXIT.ok;
  }
  await Deno.writeTextFile(url, text);
  console.error(`schema: wrote ${SCHEMA_PATH} (${text.length} bytes)`);
  return EXIT.ok;
}

if (import.meta.main) {
  Deno.exit(await runTask("schema", () => main(Deno.args)));
}
