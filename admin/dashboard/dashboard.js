// Purser's spend dashboard: reads the admin JSON API with the bearer token and draws it.
//
// Two rules shape this file:
// - Money stays exact. The API sends USD as decimal strings; sums and "what is left" are done in
//   BigInt micro-USD, and only a bar's pixel length ever goes through a floating-point number.
// - Ledger text is a stranger's text (hosts, paths and reasons can come from a merchant). It is
//   only ever set with textContent or as an attribute value, never parsed as HTML; the page's
//   Content-Security-Policy forbids inline script besides.
"use strict";

const MICROS_PER_USD = 1000000n;
const REFRESH_MS = 5000;
const PALETTE = ["#3b6fd4", "#e08a2c", "#3aa364", "#c4455a", "#8a5cc7", "#2aa1a8", "#b5a02f",
                 "#6b7480"];

let token = null;
let refreshTimer = null;

// ---- small pure helpers ---------------------------------------------------------------------

/** "1.5" -> 1500000n; null for anything that is not a plain non-negative decimal. */
function usdToMicros(text) {
  if (typeof text !== "string" || !/^\d+(\.\d{1,6})?$/.test(text)) return null;
  const [whole, frac = ""] = text.split(".");
  return BigInt(whole) * MICROS_PER_USD + BigInt(frac.padEnd(6, "0"));
}

/** 1500000n -> "1.50": at least two decimals, at most six, never rounded. */
function formatUsd(micros) {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const whole = abs / MICROS_PER_USD;
  let frac = (abs % MICROS_PER_USD).toString().padStart(6, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return (negative ? "-" : "") + "$" + whole.toString() + "." + frac;
}

function utcDay(date) {
  return date.toISOString().slice(0, 10);
}

/** The UTC days from `count - 1` days ago to today, oldest first. */
function lastDays(count) {
  const days = [];
  const now = Date.now();
  for (let i = count - 1; i >= 0; --i) days.push(utcDay(new Date(now - i * 86400000)));
  return days;
}

/** "2026-12-02T12:07:11.949Z" -> "2026-12-02 12:07:11" (UTC, as the ledger keeps it). */
function shortTime(iso) {
  return typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "";
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

// ---- the API --------------------------------------------------------------------------------

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { ...(options.headers || {}), Authorization: "Bearer " + token },
    cache: "no-store",
  });
  if (response.status === 401) throw new Unauthorized("the admin token was refused");
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
    throw new Error(path + ": " + response.status + " " + detail);
  }
  return body;
}

// ---- drawing --------------------------------------------------------------------------------

function agentColors(names) {
  const colors = new Map();
  [...names].sort().forEach((name, i) => colors.set(name, PALETTE[i % PALETTE.length]));
  return colors;
}

function drawTotals(spendRows, ledgerRows) {
  const box = document.getElementById("totals");
  box.replaceChildren();
  let spent = 0n;
  let payments = 0;
  let declined = 0;
  for (const row of spendRows) {
    spent += usdToMicros(row.spent_usd) ?? 0n;
    payments += row.paid;
    declined += row.declined;
  }
  const cards = [
    ["Spent in range", formatUsd(spent), "total-spent"],
    ["Paid calls", String(payments), "total-paid"],
    ["Declined", String(declined), "total-declined"],
    ["Last decision", ledgerRows.length ? shortTime(ledgerRows[ledgerRows.length - 1].time) : "none",
     ""],
  ];
  for (const [label, value, id] of cards) {
    const card = el("div", { class: "card" });
    card.append(el("div", { class: "muted" }, label));
    const v = el("div", { class: "big" }, value);
    if (id) v.id = id;
    card.append(v);
    box.append(card);
  }
}

/** Stacked bars: one column per UTC day, one segment per agent. */
function drawDays(spendRows, days, colors) {
  const perDay = new Map(days.map((d) => [d, new Map()]));
  for (const row of spendRows) {
    const micros = usdToMicros(row.spent_usd);
    if (micros === null || micros === 0n || !perDay.has(row.day)) continue;
    perDay.get(row.day).set(row.agent, micros);
  }
  let max = 0n;
  for (const agents of perDay.values()) {
    let total = 0n;
    for (const m of agents.values()) total += m;
    if (total > max) max = total;
  }

  const width = 760, height = 220, left = 70, bottom = 24, top = 10;
  const plot = height - bottom - top;
  const step = (width - left) / days.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "bars" });
  chart.append(svg("line", { x1: left, y1: top + plot, x2: width, y2: top + plot, class: "axis" }));
  chart.append(svg("text", { x: left - 6, y: top + 10, class: "tick", "text-anchor": "end" },
                   formatUsd(max)));
  chart.append(svg("text", { x: left - 6, y: top + plot, class: "tick", "text-anchor": "end" },
                   "$0"));
  days.forEach((day, i) => {
    const x = left + i * step + step * 0.15;
    let y = top + plot;
    const agents = [...perDay.get(day).entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [agent, micros] of agents) {
      const h = max === 0n ? 0 : Math.max(1, (Number(micros) / Number(max)) * plot);
      y -= h;
      const bar = svg("rect", {
        x: x.toFixed(1), y: y.toFixed(1), width: (step * 0.7).toFixed(1), height: h.toFixed(1),
        fill: colors.get(agent), class: "segment",
        "data-agent": agent, "data-day": day, "data-usd": formatUsd(micros),
        "data-micros": micros.toString(),
      });
      bar.append(svg("title", {}, `${day} · ${agent}: ${formatUsd(micros)}`));
      chart.append(bar);
    }
    if (days.length <= 31 ? i % Math.ceil(days.length / 8) === 0 : i % 14 === 0) {
      chart.append(svg("text", { x: (x + step * 0.35).toFixed(1), y: height - 6, class: "tick",
                                 "text-anchor": "middle" }, day.slice(5)));
    }
  });
  const box = document.getElementById("chart-days");
  box.replaceChildren(chart);

  const legend = document.getElementById("legend");
  legend.replaceChildren();
  for (const [agent, color] of colors) {
    const item = el("li");
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = color;
    item.append(swatch, document.createTextNode(agent));
    legend.append(item);
  }
}

/** Horizontal bars: each agent's spend over the range. */
function drawAgents(spendRows, colors) {
  const totals = new Map();
  for (const row of spendRows) {
    const micros = usdToMicros(row.spent_usd) ?? 0n;
    totals.set(row.agent, (totals.get(row.agent) ?? 0n) + micros);
  }
  const entries = [...totals.entries()].sort((a, b) => (a[1] === b[1] ? (a[0] < b[0] ? -1 : 1)
                                                                       : a[1] > b[1] ? -1 : 1));
  let max = 0n;
  for (const [, m] of entries) if (m > max) max = m;
  const rowHeight = 26, left = 150, width = 760, right = 110;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${Math.max(1, entries.length) * rowHeight + 4}`,
                             class: "bars" });
  entries.forEach(([agent, micros], i) => {
    const y = i * rowHeight + 4;
    const w = max === 0n ? 0 : Math.max(micros === 0n ? 0 : 1,
                                        (Number(micros) / Number(max)) * (width - left - right));
    chart.append(svg("text", { x: left - 8, y: y + 15, class: "label", "text-anchor": "end" }, agent));
    const bar = svg("rect", { x: left, y, width: w.toFixed(1), height: rowHeight - 8,
                              fill: colors.get(agent) || PALETTE[0], class: "agent-bar",
                              "data-agent": agent, "data-usd": formatUsd(micros),
                              "data-micros": micros.toString() });
    bar.append(svg("title", {}, `${agent}: ${formatUsd(micros)}`));
    chart.append(bar);
    chart.append(svg("text", { x: left + w + 6, y: y + 15, class: "label" }, formatUsd(micros)));
  });
  if (entries.length === 0) {
    chart.append(svg("text", { x: 10, y: 18, class: "label" }, "No spend in this range."));
  }
  document.getElementById("chart-agents").replaceChildren(chart);
}

/** "spent of cap, left" as a cell with a meter; "no cap" when the limit is not set. */
function capCell(spentText, capText) {
  const td = el("td");
  const spent = usdToMicros(spentText) ?? 0n;
  if (capText === null || capText === undefined) {
    td.append(el("span", {}, formatUsd(spent)), el("span", { class: "muted" }, " · no cap"));
    return td;
  }
  const cap = usdToMicros(capText) ?? 0n;
  const left = cap > spent ? cap - spent : 0n;
  td.append(el("span", {}, `${formatUsd(spent)} of ${formatUsd(cap)}`));
  const meter = el("div", { class: "meter" });
  const fill = el("div", { class: left === 0n ? "fill full" : "fill" });
  fill.style.width = cap === 0n ? "100%" : `${Math.min(100, (Number(spent) / Number(cap)) * 100)}%`;
  meter.append(fill);
  td.append(meter, el("span", { class: "left", "data-left-micros": left.toString() },
                      `${formatUsd(left)} left`));
  return td;
}

function drawAgentTable(agents) {
  const body = document.querySelector("#agents tbody");
  body.replaceChildren();
  for (const a of agents) {
    const tr = el("tr", { "data-agent": a.name });
    tr.append(el("td", { class: "name" }, a.name));
    tr.append(el("td", { class: a.frozen ? "state frozen" : "state" },
                 a.frozen ? "frozen" : "active"));
    const perRequest = usdToMicros(a.limits.per_request);
    tr.append(el("td", {}, perRequest === null ? "no cap" : formatUsd(perRequest)));
    tr.append(capCell(a.spent_today, a.limits.daily));
    tr.append(capCell(a.spent_month, a.limits.monthly));
    tr.append(capCell(a.spent_lifetime, a.limits.lifetime));
    const allowance = usdToMicros(a.allowance);
    tr.append(el("td", {}, allowance === null ? "unlimited" : formatUsd(allowance)));
    tr.append(el("td", {}, formatUsd(usdToMicros(a.in_flight) ?? 0n)));
    const action = a.frozen ? "unfreeze" : "freeze";
    const button = el("button", { type: "button", class: action, "data-action": action },
                      a.frozen ? "Unfreeze" : "Freeze");
    button.addEventListener("click", () => setFrozen(a.name, action, button));
    const td = el("td");
    td.append(button);
    tr.append(td);
    body.append(tr);
  }
}

function drawDecisions(rows) {
  const body = document.querySelector("#decisions tbody");
  body.replaceChildren();
  for (const r of [...rows].reverse()) {
    const tr = el("tr", { class: "status-" + (/^[a-z_]+$/.test(r.status) ? r.status : "other") });
    tr.append(el("td", {}, shortTime(r.time)));
    tr.append(el("td", {}, r.agent));
    tr.append(el("td", { class: "host" }, r.host));
    let path = r.url;
    try { path = new URL(r.url).pathname; } catch (_) { /* shown as recorded */ }
    tr.append(el("td", { class: "path" }, path));
    // What was charged when known, else what was asked; nothing for a decline with no offer.
    const usd = usdToMicros(r.charged_usd || r.amount_usd || "");
    tr.append(el("td", {}, usd === null || (usd === 0n && r.status === "declined") ? ""
                                                                                   : formatUsd(usd)));
    tr.append(el("td", {}, r.repeats > 1 ? `${r.status} ×${r.repeats}` : r.status));
    tr.append(el("td", { class: "reason", title: r.detail || "" }, r.reason || ""));
    body.append(tr);
  }
}

// ---- behaviour ------------------------------------------------------------------------------

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message;
  box.hidden = !message;
}

async function setFrozen(name, action, button) {
  button.disabled = true;
  try {
    await api(`/agents/${encodeURIComponent(name)}/${action}`, { method: "POST" });
    await refresh();
  } catch (e) {
    handleFailure(e);
  } finally {
    button.disabled = false;
  }
}

function handleFailure(e) {
  if (e instanceof Unauthorized) {
    signOut("The admin token was refused.");
    return;
  }
  showError(String(e.message || e));
}

async function refresh() {
  const range = Number(document.getElementById("range").value);
  const since = `${range}d`;
  const days = lastDays(range);
  const [spendRows, agents, ledgerRows] = await Promise.all([
    api(`/spend?by=agent_day&since=${since}`),
    api("/agents"),
    api(`/ledger?since=${since}&limit=50`),
  ]);
  const names = new Set(agents.map((a) => a.name));
  for (const row of spendRows) names.add(row.agent);
  const colors = agentColors(names);
  drawTotals(spendRows, ledgerRows);
  drawDays(spendRows, days, colors);
  drawAgents(spendRows, colors);
  drawAgentTable(agents);
  drawDecisions(ledgerRows);
  showError("");
  document.getElementById("updated").textContent =
    "updated " + new Date().toISOString().slice(11, 19) + " UTC";
  document.body.dataset.loaded = "true";
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try { await refresh(); } catch (e) { handleFailure(e); }
    if (token) scheduleRefresh();
  }, REFRESH_MS);
}

async function signIn(candidate) {
  token = candidate;
  try {
    await refresh();
  } catch (e) {
    if (e instanceof Unauthorized) {
      signOut("That token was refused.");
      return;
    }
    handleFailure(e);
  }
  sessionStorage.setItem("purser-admin-token", token);
  document.getElementById("login").hidden = true;
  document.getElementById("board").hidden = false;
  document.getElementById("sign-out").hidden = false;
  scheduleRefresh();
}

function signOut(message) {
  token = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem("purser-admin-token");
  document.getElementById("board").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
}

function start() {
  // A link may carry the token in the fragment (#token=...), which browsers never send to a
  // server; it is taken out of the address bar at once so it does not stay in history.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromLink = fragment.get("token");
  if (fromLink) history.replaceState(null, "", location.pathname + location.search);

  document.getElementById("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = document.getElementById("token").value.trim();
    if (value) signIn(value);
  });
  document.getElementById("sign-out").addEventListener("click", () => signOut(""));
  document.getElementById("range").addEventListener("change", () => {
    if (token) refresh().catch(handleFailure);
  });

  const saved = fromLink || sessionStorage.getItem("purser-admin-token");
  if (saved) signIn(saved);
  else signOut("");
}

document.addEventListener("DOMContentLoaded", start);
