// Shared by the monitor and the portal: token login, API calls, formatting. No framework, no build step.
// Every value from the API goes into the page through textContent (never innerHTML).
"use strict";

const Acq = (() => {
  const KEY = "acqsim.token";
  const EXPONENT = { "682": 2, "840": 2, "978": 2, "826": 2, "368": 3, "414": 3, "048": 3, "392": 0 };
  const ALPHA = { "682": "SAR", "840": "USD", "978": "EUR", "826": "GBP", "368": "IQD", "414": "KWD", "048": "BHD", "392": "JPY" };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || ("HTTP " + status));
      this.status = status;
      this.body = body;
    }
  }

  function token() { return sessionStorage.getItem(KEY); }

  async function api(path, opts = {}) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + (token() || "") }, cache: "no-store" });
    if (opts.raw && res.ok) return res;
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) throw new ApiError(res.status, body);
    return body;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function money(minor, currency) {
    if (minor === null || minor === undefined) return "\u2014";
    const exp = EXPONENT[currency] ?? 2;
    const neg = minor < 0;
    const digits = String(Math.abs(minor)).padStart(exp + 1, "0");
    const whole = digits.slice(0, digits.length - exp).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const frac = exp ? "." + digits.slice(digits.length - exp) : "";
    return (neg ? "-" : "") + whole + frac + " " + (ALPHA[currency] || currency || "");
  }

  function currencyName(code) { return ALPHA[code] ? `${ALPHA[code]} (${code})` : (code || ""); }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toISOString().replace("T", " ").slice(0, 19);
  }

  function table(target, columns, rows, onClick) {
    const head = el("tr", {}, ...columns.map(c => el("th", { class: c.num ? "num" : "", text: c.label })));
    const body = el("tbody");
    for (const row of rows) {
      const tr = el("tr", onClick ? { class: "clickable", onclick: () => onClick(row, tr) } : {});
      for (const c of columns) {
        const value = c.render ? c.render(row) : row[c.key];
        const td = el("td", { class: (c.num ? "num " : "") + (c.cls ? c.cls(row) : "") });
        if (c.attrs) for (const [k, v] of Object.entries(c.attrs(row))) td.setAttribute(k, v);
        td.append(value instanceof Node ? value : document.createTextNode(value ?? ""));
        tr.append(td);
      }
      body.append(tr);
    }
    target.replaceChildren(el("thead", {}, head), body);
    if (!rows.length) body.append(el("tr", {}, el("td", { class: "empty", colspan: columns.length, text: "nothing yet" })));
  }

  function rcClass(rc) { return rc === "00" ? "ok" : (rc ? "bad" : ""); }

  // Show the login form until a token the API accepts is entered; resolves to /api/whoami's answer.
  async function login(onOut) {
    const form = document.getElementById("login");
    const msg = document.getElementById("login-msg");
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", () => { sessionStorage.removeItem(KEY); location.reload(); });
    if (token()) {
      try { const me = await api("/api/whoami"); form.hidden = true; return me; }
      catch (e) { if (e.status !== 401) throw e; sessionStorage.removeItem(KEY); msg.textContent = "Token expired or unknown."; }
    }
    form.hidden = false;
    if (onOut) onOut();
    return new Promise(resolve => {
      form.addEventListener("submit", async ev => {
        ev.preventDefault();
        sessionStorage.setItem(KEY, form.elements.token.value.trim());
        try { const me = await api("/api/whoami"); form.hidden = true; msg.textContent = ""; resolve(me); }
        catch (e) { sessionStorage.removeItem(KEY); msg.textContent = e.status === 401 ? "Token not accepted." : e.message; }
      });
    });
  }

  return { api, el, money, currencyName, when, table, rcClass, login, ApiError, token };
})();
