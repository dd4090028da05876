// The orderflow consumer dashboard: polls /api/snapshot and draws with uPlot (served locally).
/* global uPlot */
"use strict";

const POLL_MS = 1000;
const MAX_POINTS = 600;

// The tiles, and each table's header from its data-columns ("num:" marks a right-aligned
// number column): the markup names what to show once; this builds the repeated elements.
const TILES = [
  ["t-stored", "stored"],
  ["t-dlq", "dead-lettered"],
  ["t-rate", "throughput /s (30 s)"],
  ["t-lat", "latency p50 / p99 ms"],
  ["t-inflight", "in flight"],
  ["t-lag", "lag"],
  ["t-retries", "retries"],
];

function element(tag, className, content) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (content !== undefined) el.textContent = content;
  return el;
}

for (const [id, label] of TILES) {
  const tile = element("div", "tile");
  tile.append(element("div", "label", label), element("div", "value", "–"));
  tile.lastChild.id = id;
  document.getElementById("tiles").appendChild(tile);
}

for (const table of document.querySelectorAll("table[data-columns]")) {
  const row = document.createElement("tr");
  for (const column of table.dataset.columns.split(" | ")) {
    const numeric = column.startsWith("num:");
    row.appendChild(element("th", numeric ? "num" : "", numeric ? column.slice(4) : column));
  }
  const head = document.createElement("thead");
  head.appendChild(row);
  table.append(head, document.createElement("tbody"));
}

const data = { t: [], throughput: [], p50: [], p95: [], p99: [] };
let since = 0;

const axis = { stroke: "#8795a4", grid: { stroke: "#2a3541" }, ticks: { stroke: "#2a3541" } };

function makeChart(id, series, yLabel) {
  const el = document.getElementById(id);
  const opts = {
    width: Math.max(300, el.clientWidth),
    height: 200,
    scales: { x: { time: true } },
    axes: [axis, { ...axis, label: yLabel, size: 60 }],
    series: [
      {},
      ...series.map((s) => ({ spanGaps: false, width: 2, points: { show: false }, ...s })),
    ],
  };
  return new uPlot(opts, [[], ...series.map(() => [])], el);
}

const charts = {
  throughput: makeChart("chart-throughput", [
    { label: "records/s", stroke: "#58a6ff", fill: "rgba(88,166,255,0.15)" },
  ], "records/s"),
  latency: makeChart("chart-latency", [
    { label: "p50", stroke: "#3fb950" },
    { label: "p95", stroke: "#d29922" },
    { label: "p99", stroke: "#f85149" },
  ], "ms"),
};
// For tests and the curious: the charts and the last snapshot.
globalThis.orderflowDashboard = { charts, data, last: null, polls: 0 };

globalThis.addEventListener("resize", () => {
  for (const [name, chart] of Object.entries(charts)) {
    const el = document.getElementById(`chart-${name}`);
    chart.setSize({ width: Math.max(300, el.clientWidth), height: 200 });
  }
});

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return Number(n).toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function cell(row, value, className) {
  return row.appendChild(element("td", className, value));
}

function fillTable(id, rows, render) {
  const body = document.querySelector(`#${id} tbody`);
  const fresh = document.createElement("tbody");
  rows.forEach((r, i) => {
    const tr = document.createElement("tr");
    render(tr, r, i);
    fresh.appendChild(tr);
  });
  body.replaceWith(fresh);
}

function pill(id, ok, label) {
  const el = document.getElementById(id);
  el.textContent = `${label} ${ok ? "✓" : "✗"}`;
  el.className = `pill ${ok ? "ok" : "bad"}`;
}

function render(s) {
  pill("live", s.health.live, "live");
  pill("ready", s.health.ready, "ready");
  text("reason", s.health.reason ?? "");
  const svc = s.service;
  text(
    "service",
    `${svc.topic} → ${svc.sink} · group ${svc.groupId} · ${svc.brokers.join(",")} ` +
      `(${svc.securityProtocol}) · v${svc.version}`,
  );
  const t = s.totals;
  text("t-stored", fmt(t.stored));
  text("t-dlq", fmt(t.deadLettered));
  text("t-rate", fmt(s.throughput, 1));
  text("t-lat", `${fmt(s.latencyMs.p50)} / ${fmt(s.latencyMs.p99)}`);
  text("t-inflight", fmt(t.inFlight));
  const lag = s.partitions.reduce((a, p) => a + (p.lag ?? 0), 0);
  text("t-lag", fmt(lag));
  text("t-retries", fmt(t.retries));

  for (const p of s.history) {
    data.t.push(p.t);
    data.throughput.push(p.throughput);
    data.p50.push(p.p50);
    data.p95.push(p.p95);
    data.p99.push(p.p99);
    since = Math.max(since, p.t);
  }
  for (const key of Object.keys(data)) {
    if (data[key].length > MAX_POINTS) data[key].splice(0, data[key].length - MAX_POINTS);
  }
  charts.throughput.setData([data.t, data.throughput]);
  charts.latency.setData([data.t, data.p50, data.p95, data.p99]);

  fillTable("top-orders", s.topOrders, (tr, o, i) => {
    cell(tr, String(i + 1));
    cell(tr, o.orderId);
    cell(tr, o.channel);
    cell(tr, fmt(o.total, 2), "num");
    cell(tr, fmt(o.riskScore, 2), "num");
  });
  // Orders the producer scored at the edge (--score) and how often the consumer's own score
  // differs from it by more than 0.1: another plugin version at the edge, or its fallback.
  fillTable("edge", s.edgeByChannel, (tr, e) => {
    cell(tr, e.channel);
    cell(tr, fmt(e.scored), "num");
    cell(tr, fmt(e.disagreements), "num");
    cell(tr, e.scored === 0 ? "–" : `${fmt((100 * e.disagreements) / e.scored, 1)} %`, "num");
  });
  text(
    "edge-note",
    s.edgeByChannel.length === 0
      ? "no edge-scored orders yet (deno task produce --score)"
      : s.edgeScoreInvalid > 0
      ? `${fmt(s.edgeScoreInvalid)} invalid risk.score headers ignored`
      : "",
  );
  fillTable("dlq", s.deadLetters, (tr, d) => {
    cell(tr, d.reason);
    cell(tr, fmt(d.count), "num");
  });
  fillTable("scorers", s.scorers, (tr, sc) => {
    cell(tr, sc.channel ?? "?");
    cell(tr, `${sc.name ?? "?"} (${sc.file})`);
    const state = cell(tr, sc.state, `state-${sc.state}`);
    if (sc.lastError) state.title = [sc.lastFailure, sc.lastError].filter(Boolean).join(": ");
    cell(tr, `${sc.rssMb ?? "-"} / ${sc.memoryMb} MiB`, "num");
    cell(tr, fmt(sc.failures), "num");
    cell(tr, fmt(sc.restarts), "num");
  });
  text(
    "scoring",
    s.scoring === null
      ? ""
      : `scored ${fmt(s.scoring.scored)} · fallbacks ${fmt(s.scoring.fallbacks)} · builtin ${
        fmt(s.scoring.builtin)
      } · reloads ${fmt(s.scoring.reloads)}`,
  );
  fillTable("partitions", s.partitions, (tr, p) => {
    cell(tr, String(p.partition));
    cell(tr, p.committed ?? "–", "num");
    cell(tr, fmt(p.lag), "num");
    cell(tr, p.paused ? "paused" : "running", p.paused ? "state-backoff" : "state-ready");
  });

  const risk = document.getElementById("risk");
  const rows = document.createDocumentFragment();
  for (const r of s.riskByChannel) {
    const row = document.createElement("div");
    row.className = "bar-row";
    const name = document.createElement("span");
    name.textContent = r.channel;
    const track = document.createElement("div");
    const bar = document.createElement("div");
    bar.className = `bar ${r.mean >= 0.7 ? "high" : r.mean >= 0.4 ? "mid" : ""}`;
    bar.style.width = `${Math.min(100, Math.max(0, r.mean * 100))}%`;
    track.appendChild(bar);
    const value = document.createElement("span");
    value.className = "num";
    value.textContent = `${fmt(r.mean, 2)} (n=${fmt(r.count)})`;
    row.append(name, track, value);
    rows.appendChild(row);
  }
  risk.replaceChildren(rows);
  text("updated", `updated ${new Date(s.now).toLocaleTimeString()}`);
}

async function poll() {
  try {
    const res = await fetch(`/api/snapshot?since=${since}`, { cache: "no-store" });
    if (res.ok) {
      const snapshot = await res.json();
      globalThis.orderflowDashboard.last = snapshot;
      globalThis.orderflowDashboard.polls++;
      render(snapshot);
    } else {
      text("reason", `snapshot failed: HTTP ${res.status}`);
    }
  } catch (error) {
    text("reason", `consumer unreachable: ${error.message}`);
    pill("live", false, "live");
    pill("ready", false, "ready");
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
