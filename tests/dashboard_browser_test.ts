/**
 * The live dashboard in a real browser during a real run: Debian's Chromium driven over the
 * DevTools protocol (`dashboard_cdp.ts`; playwright-core needs `--allow-all` under Deno), the
 * consumer as a subprocess against the local broker, orders produced while the page is open.
 *
 * `UPDATE_SCREENSHOT=1` saves `docs/dashboard.png`. Skips (with a message) only when Chromium is
 * absent and `apt-get install -y chromium` cannot install it.
 */
import assert from "node:assert/strict";
import {
  cleanup,
  consumerEnv,
  ConsumerProcess,
  produce,
  scenario,
  until,
} from "./consumer_support.ts";
import { freePort, getText } from "./http_support.ts";
import { ChromiumPage } from "./dashboard_cdp.ts";

const CHROMIUM = "/usr/bin/chromium";

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Chromium's path, installing the Debian package when missing (as root); undefined if impossible. */
async function findChromium(): Promise<string | undefined> {
  if (exists(CHROMIUM)) return CHROMIUM;
  console.error("dashboard test: /usr/bin/chromium missing; trying apt-get install -y chromium");
  try {
    const out = await new Deno.Command("apt-get", {
      args: ["install", "-y", "-qq", "--no-install-recommends", "chromium"],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) console.error(new TextDecoder().decode(out.stderr).slice(-2000));
  } catch (error) {
    console.error(`dashboard test: cannot run apt-get: ${(error as Error).message}`);
  }
  return exists(CHROMIUM) ? CHROMIUM : undefined;
}

const executablePath = await findChromium();
if (executablePath === undefined) {
  console.error(
    "SKIP dashboard_browser_test: Chromium is not installed and apt-get could not install it " +
      "(apt-get install -y chromium).",
  );
}

/** Runs in the page (a string: the test is type-checked without DOM types). */
const READ_DASHBOARD = `(() => {
  const d = globalThis.orderflowDashboard;
  const q = (sel) => document.querySelectorAll(sel).length;
  const tp = (d.charts.throughput.data[1] ?? []).filter((v) => v !== null);
  const p99 = (d.charts.latency.data[3] ?? []).filter((v) => v !== null);
  return {
    polls: d.polls,
    throughputPoints: tp.length,
    throughputMax: Math.max(0, ...tp),
    latencyPoints: p99.length,
    topRows: q("#top-orders tbody tr"),
    riskRows: q("#risk .bar-row"),
    scorerRows: q("#scorers tbody tr"),
    dlqRows: q("#dlq tbody tr"),
    live: document.getElementById("live").textContent,
    ready: document.getElementById("ready").textContent,
    stored: d.last?.totals?.stored ?? 0,
    storedTile: document.getElementById("t-stored").textContent,
    edgeHeader: [...document.querySelectorAll("#edge thead th")]
      .map((th) => th.className + ":" + th.textContent).join(","),
  };
})()`;

interface DashboardState {
  polls: number;
  throughputPoints: number;
  throughputMax: number;
  latencyPoints: number;
  topRows: number;
  riskRows: number;
  scorerRows: number;
  dlqRows: number;
  live: string;
  ready: string;
  storedTile: string;
  edgeHeader: string;
}

Deno.test({
  name: "dashboard (GET /) draws throughput and latency and fills the top-K table in Chromium",
  ignore: executablePath === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await scenario("dashboard", 3);
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    let proc: ConsumerProcess | undefined;
    const page = await ChromiumPage.launch(executablePath!);
    try {
      proc = new ConsumerProcess(consumerEnv(s, { HTTP_PORT: String(port) }), [
        "--summary-interval",
        "0",
      ]);
      await until(
        "/readyz 200",
        async () => (await getText(`${base}/readyz`)).status === 200,
        60_000,
      );

      await page.viewport(1440, 1000);
      await page.goto(`${base}/`);

      // Orders keep flowing while the page polls: the real producer CLI, paced, for ~8 s.
      await produce(s.topic, [
        { key: "bad-1", value: "{oops" },
        { key: "bad-2", value: JSON.stringify({ orderId: "bad-2" }) },
      ]);
      const producer = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-P=produce",
          "producer/main.ts",
          "--topic",
          s.topic,
          "--rate",
          "400",
          "--duration",
          "8",
          "--seed",
          "7",
          "--json",
          "--quiet",
        ],
        env: { KAFKA_BROKERS: "localhost:9092", KAFKA_SECURITY_PROTOCOL: "PLAINTEXT" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(producer.success, new TextDecoder().decode(producer.stderr));
      const produced = JSON.parse(new TextDecoder().decode(producer.stdout)).acked as number;
      assert.ok(produced > 1000, `producer acked ${produced}`);

      let state: DashboardState | undefined;
      await until("dashboard shows every order", async () => {
        state = await page.evaluate<DashboardState & { stored: number }>(READ_DASHBOARD);
        return (state as unknown as { stored: number }).stored === produced &&
          state.latencyPoints >= 3 && state.dlqRows === 2;
      }, 60_000);
      const st = state!;
      assert.ok(st.polls >= 5, `polled ${st.polls} times`);
      assert.ok(st.throughputPoints >= 5, `throughput chart has ${st.throughputPoints} points`);
      assert.ok(st.throughputMax > 0, "throughput chart shows a positive rate");
      assert.ok(st.latencyPoints >= 3, `latency chart has ${st.latencyPoints} points`);
      assert.equal(st.topRows, 10, "top-K table holds 10 orders");
      assert.equal(st.riskRows, 3, "risk bars for web, mobile, partner");
      assert.ok(st.scorerRows >= 3, "scorer status rows");
      assert.equal(st.storedTile, produced.toLocaleString("en-US"), "the stored tile");
      assert.equal(st.edgeHeader, ":channel,num:edge-scored,num:disagree > 0.1,num:share");
      assert.equal(st.live, "live ✓");
      assert.equal(st.ready, "ready ✓");
      assert.deepEqual(page.errors, [], "no script errors");
      const offsite = page.requests.filter((u) => !u.startsWith(`${base}/`));
      assert.deepEqual(offsite, [], "everything is served by the consumer itself (no CDN)");
      assert.ok(page.requests.includes(`${base}/assets/uPlot.iife.min.js`));

      if (Deno.env.get("UPDATE_SCREENSHOT") === "1") {
        await new Promise((r) => setTimeout(r, 1500)); // one more poll after the last batch
        await Deno.writeFile("docs/dashboard.png", await page.screenshot(1440));
        console.error("dashboard test: wrote docs/dashboard.png");
      }
      proc.kill("SIGTERM");
      assert.equal(await proc.exit(30_000), 0);
      proc = undefined;
    } finally {
      await page.close();
      if (proc !== undefined) {
        proc.kill("SIGKILL");
        await proc.exit().catch(() => undefined);
      }
      await cleanup(s);
    }
  },
});
