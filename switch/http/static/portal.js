// Merchant portal: /portal/<mid>. The API decides what this token may see; the page only shows it
// (a 403 from the API becomes the "Access denied" panel).
"use strict";

const $ = id => document.getElementById(id);

function midFromPath() {
  const m = location.pathname.match(/^\/portal\/([^/]+)\/?$/);
  return m ? decodeURIComponent(m[1]) : null;
}

function denied(message) {
  $("merchant").hidden = true;
  $("denied").hidden = false;
  $("denied-msg").textContent = message;
}

async function loadTransactions(mid) {
  const form = $("txn-filter");
  const params = new URLSearchParams();
  for (const name of ["tid", "rc", "from", "to", "limit"]) {
    const v = form.elements[name].value.trim();
    if (v) params.set(name, v);
  }
  const data = await Acq.api(`/api/merchants/${encodeURIComponent(mid)}/transactions?${params}`);
  Acq.table($("transactions"), [
    { label: "Time", render: r => Acq.when(r.created_at) },
    { label: "Type", key: "type" },
    { label: "Terminal", key: "tid" },
    { label: "STAN", key: "stan" },
    { label: "Card", key: "pan_masked" },
    { label: "Amount", num: true, render: r => Acq.money(r.amount, r.currency) },
    { label: "RC", key: "rc", cls: r => Acq.rcClass(r.rc) },
    { label: "State", key: "state" },
  ], data.items);
}

async function download(mid, format) {
  const form = $("statement");
  const params = new URLSearchParams({ format });
  for (const name of ["from", "to"]) if (form.elements[name].value) params.set(name, form.elements[name].value);
  try {
    const res = await Acq.api(`/api/merchants/${encodeURIComponent(mid)}/statement?${params}`, { raw: true });
    const blob = await res.blob();
    const cd = res.headers.get("content-disposition") || "";
    const name = (cd.match(/filename="([^"]+)"/) || [])[1] || `statement.${format}`;
    const a = Acq.el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    $("stmt-msg").textContent = "";
  } catch (e) { $("stmt-msg").textContent = e.message; }
}

async function showMerchant(mid) {
  let m;
  try { m = await Acq.api(`/api/merchants/${encodeURIComponent(mid)}`); }
  catch (e) {
    if (e.status === 403) return denied("This page belongs to another merchant: your token does not open it.");
    if (e.status === 404) return denied("No such merchant.");
    throw e;
  }
  $("merchant").hidden = false;
  $("m-name").textContent = m.name;
  $("m-mid").textContent = "MID " + m.mid;
  $("m-mcc").textContent = m.mcc;
  $("m-status").textContent = m.status;
  $("m-status").classList.add(m.status);
  const base = `/api/merchants/${encodeURIComponent(mid)}`;
  const [wallets, terminals, payouts, settlements] = await Promise.all(
    ["wallets", "terminals", "payouts", "settlements"].map(p => Acq.api(`${base}/${p}`)));
  const moneyCol = (label, key) => ({
    label, num: true, render: r => Acq.money(r[key], r.currency),
    attrs: r => ({ "data-field": key, "data-currency": r.currency ?? "", "data-minor": r[key] ?? "" }),
  });
  Acq.table($("wallets"), [
    { label: "Currency", render: r => Acq.currencyName(r.currency) },
    moneyCol("Available", "available"), moneyCol("Unsettled", "unsettled"), moneyCol("Receivable", "receivable"),
  ], wallets.items);
  Acq.table($("terminals"), [
    { label: "TID", key: "tid" }, { label: "Kind", key: "kind" }, { label: "Status", key: "status" },
  ], terminals.items);
  Acq.table($("payouts"), [
    { label: "Due", key: "due_on" }, { label: "Amount", num: true, render: r => Acq.money(r.amount, r.currency) },
    { label: "Status", key: "status" }, { label: "Paid", key: "paid_on" },
  ], payouts.items);
  Acq.table($("settlements"), [
    { label: "Settlement", key: "id" }, { label: "Count", key: "count", num: true },
    { label: "Gross", num: true, render: r => Acq.money(r.gross, r.currency) },
    { label: "Fees", num: true, render: r => Acq.money(r.fees, r.currency) },
    { label: "Net", num: true, render: r => Acq.money(r.net, r.currency) }, { label: "At", render: r => Acq.when(r.settled_at) },
  ], settlements.items);
  const tidSelect = $("txn-filter").elements.tid;
  for (const t of terminals.items) tidSelect.append(Acq.el("option", { value: t.tid, text: t.tid }));
  $("txn-filter").addEventListener("submit", ev => { ev.preventDefault(); loadTransactions(mid).catch(err); });
  $("statement").addEventListener("submit", ev => { ev.preventDefault(); download(mid, ev.submitter?.value || "csv"); });
  await loadTransactions(mid);
  document.body.dataset.loaded = "1";
}

async function chooser() {
  const data = await Acq.api("/api/merchants");
  $("chooser").hidden = false;
  Acq.table($("merchant-list"), [
    { label: "MID", render: r => Acq.el("a", { href: "/portal/" + encodeURIComponent(r.mid), text: r.mid }) },
    { label: "Name", key: "name" }, { label: "MCC", key: "mcc" }, { label: "Status", key: "status" },
  ], data.items);
  document.body.dataset.loaded = "1";
}

function err(e) { $("error").textContent = e.message; document.body.dataset.loaded = "error"; }

document.addEventListener("DOMContentLoaded", async () => {
  try {
    const me = await Acq.login();
    $("who").textContent = me.role === "merchant" ? `${me.name} (merchant ${me.mid})` : `${me.name} (${me.role})`;
    $("app").hidden = false;
    const mid = midFromPath();
    if (me.role === "merchant") $("home-link").setAttribute("href", "/portal/" + encodeURIComponent(me.mid));
    if (!mid) {
      if (me.role === "merchant") { location.replace("/portal/" + encodeURIComponent(me.mid)); return; }
      await chooser();
      return;
    }
    await showMerchant(mid);
    document.body.dataset.loaded = document.body.dataset.loaded || "1";
  } catch (e) { err(e); }
});
