import assert from "node:assert/strict";
import { CHANNEL_PATTERN, SCORER_NAME_PATTERN } from "../sdk/contract.ts";
import { DEFAULT_LIMITS, isScorerFileName, ManifestError, parseManifest } from "./manifest.ts";

const fallback = { module: "./default.ts" };
const web = { name: "web", channel: "web", module: "./web.ts" };

/** Whether the lists are equal; asserts it, so a mismatch shows the difference. */
function sameList(actual: readonly string[], expected: readonly string[]): boolean {
  assert.deepEqual(actual, expected);
  return true;
}

Deno.test("parseManifest() applies defaults: enabled, discovery, options and limits", () => {
  const m = parseManifest({ version: 1, scorers: [web], fallback: { ...fallback, memoryMb: 32 } });
  assert.equal(m.discovery, true);
  assert.deepEqual(m.scorers[0], {
    ...web,
    enabled: true,
    options: {},
    limits: { memoryMb: 64, deadlineMs: 250 },
  });
  assert.deepEqual(m.fallback.limits, { memoryMb: 32, deadlineMs: 250 });
  assert.ok(Object.isFrozen(m.scorers[0]) && Object.isFrozen(m.fallback.limits));
});

Deno.test("parseManifest() names bad names, limits, test files, duplicate names", () => {
  assert.throws(
    () =>
      parseManifest({
        version: 1,
        discovery: "yes",
        scorers: [
          web,
          { ...web, channel: "pos" },
          { name: "Bad", channel: "x", module: "./x_test.ts", enabled: 1 },
          { ...web, name: "a", channel: "a", module: ".\\a.ts", deadlineMs: 5, memoryMb: 16.5 },
          "web",
        ],
        fallback: { ...fallback, options: [] },
      }),
    (error: unknown) =>
      error instanceof ManifestError && sameList(error.problems, [
        `"discovery" must be true or false`,
        `scorers[1] "web": name "web" is already used by scorers[0] "web"`,
        `scorers[2] "Bad": module must not be a test file, got "./x_test.ts"`,
        `scorers[2] "Bad": "name" must match /^[a-z][a-z0-9_-]{0,63}$/`,
        `scorers[2] "Bad": "enabled" must be true or false`,
        `scorers[3] "a": module must be a plain relative path, got ".\\\\a.ts"`,
        `scorers[3] "a": "memoryMb" must be an integer from 16 to 4096`,
        `scorers[3] "a": "deadlineMs" must be an integer from 10 to 60000`,
        `scorers[4]: must be an object`,
        `fallback: "options" must be an object`,
      ]),
  );
});

Deno.test("isScorerFileName() takes scripts, not tests, declarations or hidden files", () => {
  assert.deepEqual(
    ["web.ts", "pos.js", "web_test.ts", "x.d.ts", ".hidden.ts", "_x.ts", "x.json"].filter(
      isScorerFileName,
    ),
    ["web.ts", "pos.js"],
  );
});

Deno.test("plugins/manifest.schema.json (the editor's hints) states the host's rules", async () => {
  const schema = JSON.parse(
    await Deno.readTextFile(new URL("../plugins/manifest.schema.json", import.meta.url)),
  );
  const scorer = schema.properties.scorers.items.properties;
  assert.equal(scorer.name.pattern, SCORER_NAME_PATTERN.source);
  assert.equal(scorer.channel.pattern, CHANNEL_PATTERN.source);
  for (const entry of [scorer, schema.properties.fallback.properties]) {
    assert.equal(entry.memoryMb.default, DEFAULT_LIMITS.memoryMb);
    assert.equal(entry.deadlineMs.default, DEFAULT_LIMITS.deadlineMs);
    for (const key of ["memoryMb", "deadlineMs"] as const) {
      const { minimum, maximum } = entry[key];
      const at = (value: number) => ({
        version: 1,
        scorers: [],
        fallback: { module: "./d.ts", [key]: value },
      });
      parseManifest(at(minimum));
      parseManifest(at(maximum));
      assert.throws(() => parseManifest(at(minimum - 1)), ManifestError);
      assert.throws(() => parseManifest(at(maximum + 1)), ManifestError);
    }
    const modulePattern = new RegExp(entry.module.pattern);
    for (
      const module of [
        "./web.ts",
        "pos.js",
        "sub/x.ts",
        "./a/../../x.ts",
        "../x.ts",
        "a/..",
        "x_test.ts",
        "./x.d.ts",
        "/abs.ts",
        "http://h/x.ts",
        "a\\b.ts",
        "x.json",
      ]
    ) {
      let hostAccepts = true;
      try {
        parseManifest({ version: 1, scorers: [], fallback: { module } });
      } catch (error) {
        assert.ok(error instanceof ManifestError);
        hostAccepts = false;
      }
      assert.equal(modulePattern.test(module), hostAccepts, `module ${JSON.stringify(module)}`);
    }
  }
});
