// Operations monitor: polls /api/monitor (1 s) and /api/transactions (2 s); draws with SVG.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = id => document.getElementById(id);

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// Draw in the element's own pixel width so text is not stretched.
function chartWidth(svg) {
  const w = Math.max(200, Math.round(svg.getBoundingClientRect().width || 600));
  svg.setAttribute("viewBox", `0 0 ${w} 160`);
  return w;
}

function lineChart(svg, values) {
  const w = chartWidth(svg), h = 160, pad = 18, max = Math.max(1, ...values);
  const x = i => pad + (i * (w - 2 * pad)) / Math.max(1, values.length - 1);
  const y = v => h - pad - (v * (h - 2 * pad)) / max;
  const pts = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  svg.replaceChildren(
    svgEl("line", { class: "axis", x1: pad, y1: h - pad, x2: w - pad, y2: h - pad }),
    svgEl("polygon", { class: "area", points: `${pad},${h - pad} ${pts} ${w - pad},${h - pad}` }),
    svgEl("polyline", { class: "line", points: pts }));
  const label = svgEl("text", { x: pad, y: 12 });
  label.textContent = `max ${max}/s`;
  svg.append(label);
}

function barChart(svg, bars) {
  const w = chartWidth(svg), h = 160, pad = 18, max = Math.max(1, ...bars.map(b => b.value));
  const bw = (w - 2 * pad) / Math.max(1, bars.length);
  svg.replaceChildren(svgEl("line", { class: "axis", x1: pad, y1: h - pad, x2: w - pad, y2: h - pad }));
  bars.forEach((b, i) => {
    const bh = (b.value * (h - 2 * pad - 6)) / max;
    svg.append(svgEl("rect", { class: "bar", x: pad + i * bw + 2, y: h - pad - bh, width: bw - 4, height: bh }));
    if (bw >= 36 || i % 2 === 0) {  // narrow charts: every other label, so they do not overlap
      const t = svgEl("text", { x: pad + i * bw + bw / 2, y: h - 4, "text-anchor": "middle" });
      t.textContent = b.label;
      svg.append(t);
    }
    if (b.value) {
      const v = svgEl("text", { x: pad + i * bw + bw / 2, y: h - pad - bh - 2, "text-anchor": "middle" });
      v.textContent = b.value;
      svg.append(v);
    }
  });
}

function latencyBars(latency) {
  // Cumulative Prometheus buckets -> count per bucket, labelled by upper bound in ms.
  let prev = 0;
  return latency.buckets.map(b => {
    const value = b.count - prev;
    prev = b.count;
    const label = b.le === "+Inf" ? ">10s" : (parseFloat(b.le) * 1000 >= 1000 ? parseFloat(b.le) + "s" : parseFloat(b.le) * 1000 + "ms");
    return { label, value };
  });
}

function rcMix(target, byRc) {
  const total = Object.values(byRc).reduce((a, b) => a + b, 0);
  const rows = Object.entries(byRc).sort((a, b) => b[1] - a[1]);
  if (!rows.length) { target.replaceChildren(Acq.el("p", { class: "muted", text: "no transactions yet" })); return; }
  target.replaceChildren(...rows.map(([rc, n]) => Acq.el("div", { class: "row", "data-rc": rc },
    Acq.el("span", { class: Acq.rcClass(rc), text: rc }),
    Acq.el("div", { class: "track" }, Acq.el("div", { class: "fill " + Acq.rcClass(rc), style: null })),
    Acq.el("span", { class: "num", text: `${n} (${Math.round((100 * n) / total)}%)` }))));
  // Width through the CSSOM: the page's CSP forbids inline style attributes.
  target.querySelectorAll(".row").forEach((row, i) => {
    row.querySelector(".fill").style.width = `${(100 * rows[i][1]) / total}%`;
  });
}

async function pollMonitor() {
  try {
    const m = await Acq.api("/api/monitor");
    const total = Object.values(m.by_response_code).reduce((a, b) => a + b, 0);
    $("kpi-tps").textContent = m.tps;
    $("kpi-tps10").textContent = m.tps_avg_10s;
    $("kpi-total").textContent = total;
    $("kpi-approved").textContent = total ? Math.round((100 * (m.by_response_code["00"] || 0)) / total) + "%" : "\u2013";
    $("kpi-latency").textContent = m.latency.count ? ((1000 * m.latency.sum) / m.latency.count).toFixed(1) + " ms" : "\u2013";
    $("kpi-conns").textContent = m.open_connections;
    lineChart($("tps-chart"), m.tps_series);
    rcMix($("rc-mix"), m.by_response_code);
    barChart($("latency-chart"), latencyBars(m.latency));
    $("error").textContent = "";
  } catch (e) { $("error").textContent = "monitor: " + e.message; }
}

async function showDump(row, tr) {
  document.querySelectorAll("#recent tr.selected").forEach(r => r.classList.remove("selected"));
  tr.classList.add("selected");
  try {
    const t = await Acq.api("/api/transactions/" + row.id);
    $("dump-title").textContent = `#${t.id} ${t.type} ${t.tid}`;
    const head = [`time      ${Acq.when(t.created_at)}`, `terminal  ${t.tid}   merchant ${t.mid || ""}`,
      `card      ${t.pan_masked || "-"}`, `amount    ${Acq.money(t.amount, t.currency)}   state ${t.state}   rc ${t.rc}`];
    $("dump").textContent = head.join("\n") + "\n\n" + (t.dump || "(no stored fields)");
  } catch (e) { $("dump").textContent = "error: " + e.message; }
}

async function pollRecent() {
  try {
    const data = await Acq.api("/api/transactions?limit=15");
    Acq.table($("recent"), [
      { label: "Time", render: r => Acq.when(r.created_at).slice(11) },
      { label: "Type", key: "type" },
      { label: "Terminal", key: "tid" },
      { label: "Card", key: "pan_masked" },
      { label: "Amount", num: true, render: r => Acq.money(r.amount, r.currency) },
      { label: "RC", key: "rc", cls: r => Acq.rcClass(r.rc) },
    ], data.items, showDump);
  } catch (e) { $("error").textContent = "transactions: " + e.message; }
}

document.addEventListener("DOMContentLoaded", async () => {
  const me = await Acq.login();
  $("who").textContent = `${me.name} (${me.role})`;
  if (me.role !== "operator") {
    $("app").hidden = false;
    $("error").textContent = "The operations monitor is for operators; merchants use the portal.";
    return;
  }
  $("app").hidden = false;
  pollMonitor(); pollRecent();
  setInterval(pollMonitor, 1000);
  setInterval(pollRecent, 2000);
});
