/**
 * `deno task query` (run as a subprocess: DuckDB needs --allow-ffi, which only the task's own
 * permission set grants): the README's example queries, run against what `deno task demo` stored,
 * return what the files say (counts per dt, revenue, risk by channel, riskiest orders); the CLI
 * prints tables / JSON / CSV; SINK=cos mirrors a real (local S3 server) bucket first.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { s3Env, uniqueName } from "./_infra.ts";
import { createCosClient } from "../config/cos.ts";
import { segmentKey } from "../consumer/sinks/segment_key.ts";
import { readStoredOrders, type StoredOrder } from "../tools/stored_orders.ts";
import { removeDemoDir, repoPath, runDemo } from "./tools_support.ts";

/** The README's example queries (README.md must contain each verbatim). */
export const README_QUERIES = Object.freeze({
  perDay:
    "SELECT dt, count(*) AS orders, round(sum(total), 2) AS revenue FROM orders GROUP BY dt ORDER BY dt",
  riskByChannel:
    "SELECT channel, count(*) AS orders, round(avg(risk_score), 3) AS mean_risk, max(risk_score) AS max_risk FROM orders GROUP BY channel ORDER BY channel",
  riskiest:
    "SELECT orderId, channel, total, risk_score, scorer FROM orders ORDER BY risk_score DESC, total DESC, orderId LIMIT 5",
});

const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item]);
  return new Map([...map.entries()].sort(([a], [b]) => a < b ? -1 : 1));
}

const n = (o: StoredOrder, field: string) => o.body[field] as number;

Deno.test("README.md shows the example queries the tests run", async () => {
  const readme = await Deno.readTextFile(repoPath("README.md"));
  for (const sql of Object.values(README_QUERIES)) {
    ok(readme.includes(`deno task query "${sql}"`), `README.md lacks: deno task query "${sql}"`);
  }
});

Deno.test("deno task query answers the README's example queries with what the demo stored", async () => {
  const run = await runDemo(["--count", "300", "--rate", "0"]);
  try {
    equal(run.code, 0, `demo failed:\n${run.stderr}`);
    const stored = await readStoredOrders(repoPath(run.dir!));
    equal(stored.length, 300);

    const perDay = await queryJson(run.dir!, README_QUERIES.perDay);
    deepEqual(
      perDay,
      [...groupBy(stored, (o) => o.dt)].map(([dt, os]) => ({
        dt,
        orders: String(os.length), // BIGINT comes back as a string
        revenue: round(os.reduce((s, o) => s + n(o, "total"), 0), 2),
      })),
    );

    const risk = await queryJson(run.dir!, README_QUERIES.riskByChannel);
    deepEqual(
      risk,
      [...groupBy(stored, (o) => o.body.channel as string)].map(([channel, os]) => ({
        channel,
        orders: String(os.length),
        mean_risk: round(os.reduce((s, o) => s + n(o, "risk_score"), 0) / os.length, 3),
        max_risk: Math.max(...os.map((o) => n(o, "risk_score"))),
      })),
    );

    const riskiest = await queryJson(run.dir!, README_QUERIES.riskiest);
    const expected = [...stored].sort((a, b) =>
      n(b, "risk_score") - n(a, "risk_score") || n(b, "total") - n(a, "total") ||
      ((a.body.orderId as string) < (b.body.orderId as string) ? -1 : 1)
    ).slice(0, 5);
    deepEqual(
      riskiest,
      expected.map((o) => ({
        orderId: o.body.orderId,
        channel: o.body.channel,
        total: o.body.total,
        risk_score: o.body.risk_score,
        scorer: o.body.scorer,
      })),
    );

    // Partition pruning: a day with no folder matches nothing.
    deepEqual(
      await queryJson(run.dir!, "SELECT count(*) AS n FROM orders WHERE dt = DATE '1999-01-01'"),
      [{ n: "0" }],
    );
  } finally {
    await removeDemoDir(run.dir);
  }
});

async function query(args: readonly string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "query", ...args],
    cwd: repoPath("./"),
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function queryJson(dir: string, sql: string): Promise<unknown> {
  const out = await query(["--dir", dir, "--json", sql]);
  equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

/** Writes a few enriched orders under `<dir>/orders/dt=.../orderId=....json`. */
function fixture(): { key: string; body: Record<string, unknown> }[] {
  return [1, 2, 3, 4].map((i) => {
    const dt = i <= 3 ? "2026-11-01" : "2026-11-02";
    const id = `q-${i}`;
    return {
      key: `orders/dt=${dt}/orderId=${id}.json`,
      body: {
        orderId: id,
        customerId: "c",
        channel: i % 2 === 0 ? "web" : "mobile",
        items: [{ sku: "S", quantity: 1, unit_price: i * 10 }],
        total: i * 10,
        currency: "USD",
        created_at: `${dt}T10:00:00.000Z`,
        consumed_at: `${dt}T10:00:00.050Z`,
        latency_ms: 50,
        risk_score: i / 10,
        scorer: "web",
      },
    };
  });
}

Deno.test("deno task query prints a table, --json and --csv, and explains an empty source", async () => {
  const dir = `./data/${uniqueName("query-test")}`;
  try {
    for (const { key, body } of fixture()) {
      await Deno.mkdir(repoPath(`${dir}/${key}`).replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(repoPath(`${dir}/${key}`), JSON.stringify(body));
    }
    const table = await query(["--dir", dir, README_QUERIES.perDay]);
    equal(table.code, 0, table.stderr);
    equal(
      table.stdout,
      "dt          orders  revenue\n----------  ------  -------\n2026-11-01       3       60\n" +
        "2026-11-02       1       40\n(2 rows)\n",
    );
    const json = await query(["--dir", dir, "--json", "SELECT orderId FROM orders ORDER BY 1"]);
    deepEqual(JSON.parse(json.stdout), [1, 2, 3, 4].map((i) => ({ orderId: `q-${i}` })));
    const csv = await query([
      "--dir",
      dir,
      "--csv",
      "SELECT channel, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1",
    ]);
    equal(csv.stdout, "channel,n\nmobile,2\nweb,2\n\n");

    const bad = await query(["--dir", dir, "SELECT nope FROM orders"]);
    equal(bad.code, 1);
    match(bad.stderr, /Cannot run the query: .*nope/);
    const empty = await query(["--dir", "./data/no-such-dir", "SELECT 1"]);
    equal(empty.code, 1);
    match(empty.stderr, /no stored orders/);
    match(empty.stderr, /deno task demo/);
  } finally {
    await Deno.remove(repoPath(dir), { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
});

Deno.test("deno task query reads the batched layout: the greatest version of each segment, beside per-order files", async () => {
  const dir = `./data/${uniqueName("query-batched")}`;
  const orders = fixture().map((o) => o.body);
  const line = (o: Record<string, unknown>) => JSON.stringify(o) + "\n";
  const files: Record<string, string> = {
    // A per-order file (q-1) next to segments of partition 0: offsets 0-2 hold q-2, q-3, q-4.
    [`orders/dt=2026-11-01/orderId=q-1.json`]: JSON.stringify(orders[0]),
    [segmentKey("2026-11-01", 0, 0n, 0n)]: line(orders[1]!), // superseded by 0-1
    [segmentKey("2026-11-01", 0, 0n, 1n)]: line(orders[1]!) + line(orders[2]!),
    [segmentKey("2026-11-02", 0, 2n, 2n)]: line(orders[3]!),
  };
  try {
    for (const [key, text] of Object.entries(files)) {
      await Deno.mkdir(repoPath(`${dir}/${key}`).replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(repoPath(`${dir}/${key}`), text);
    }
    deepEqual(
      await queryJson(dir, "SELECT orderId, part FROM orders ORDER BY orderId"),
      [
        { orderId: "q-1", part: null },
        { orderId: "q-2", part: "0" },
        { orderId: "q-3", part: "0" },
        { orderId: "q-4", part: "0" },
      ],
    );
    deepEqual(await queryJson(dir, README_QUERIES.perDay), [
      { dt: "2026-11-01", orders: "3", revenue: 60 },
      { dt: "2026-11-02", orders: "1", revenue: 40 },
    ]);
  } finally {
    await Deno.remove(repoPath(dir), { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
});

Deno.test("deno task query with SINK=cos mirrors the bucket's orders, then queries them", async () => {
  const env = s3Env();
  const bucket = uniqueName("query-cos");
  const client = createCosClient({
    endpoint: env.COS_ENDPOINT!,
    bucket,
    auth: {
      kind: "hmac",
      accessKeyId: env.COS_HMAC_ACCESS_KEY_ID!,
      secretAccessKey: env.COS_HMAC_SECRET_ACCESS_KEY!,
    },
  });
  await client.createBucket({ Bucket: bucket }).promise();
  const mirror = `./data/cos-mirror/${bucket}`;
  try {
    for (const { key, body } of fixture()) {
      await client.putObject({ Bucket: bucket, Key: key, Body: Buffer.from(JSON.stringify(body)) })
        .promise();
    }
    // A batched segment (q-5) in two versions: both mirrored, the greater one read.
    const q5 = { ...fixture()[3]!.body, orderId: "q-5", total: 50 };
    for (const last of [7n, 8n]) {
      const body = JSON.stringify(q5) + "\n";
      await client.putObject({
        Bucket: bucket,
        Key: segmentKey("2026-11-02", 1, 7n, last),
        Body: Buffer.from(body),
      }).promise();
    }
    // Not an order key: ignored by the mirror.
    await client.putObject({ Bucket: bucket, Key: "orders/batch-1.jsonl", Body: Buffer.from("x") })
      .promise();
    const cosEnv = {
      SINK: "cos",
      COS_ENDPOINT: env.COS_ENDPOINT!,
      COS_BUCKET: bucket,
      COS_HMAC_ACCESS_KEY_ID: env.COS_HMAC_ACCESS_KEY_ID!,
      COS_HMAC_SECRET_ACCESS_KEY: env.COS_HMAC_SECRET_ACCESS_KEY!,
      COS_AUTH: "hmac",
    };
    const first = await query(["--json", README_QUERIES.perDay], cosEnv);
    equal(first.code, 0, first.stderr);
    match(first.stderr, /6 order objects, 6 downloaded/);
    deepEqual(JSON.parse(first.stdout), [
      { dt: "2026-11-01", orders: "3", revenue: 60 },
      { dt: "2026-11-02", orders: "2", revenue: 90 },
    ]);
    const again = await query(["--json", "SELECT count(*) AS n FROM orders"], cosEnv);
    match(again.stderr, /6 order objects, 0 downloaded \(6 already local\)/);
    deepEqual(JSON.parse(again.stdout), [{ n: "5" }]);
  } finally {
    const listed = await client.listObjectsV2({ Bucket: bucket }).promise();
    for (const object of listed.Contents ?? []) {
      await client.deleteObject({ Bucket: bucket, Key: object.Key! }).promise();
    }
    await client.deleteBucket({ Bucket: bucket }).promise();
    await Deno.remove(repoPath(mirror), { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
});
