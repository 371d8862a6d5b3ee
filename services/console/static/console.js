// The operations console's pages: plain DOM and Apache ECharts, data from /api.
"use strict";

const state = { lang: localStorage.getItem("lt-lang") || "vi", config: null, session: null, tab: "flows", stream: null };
const t = (key) => (window.I18N[state.lang] || {})[key] || window.I18N.en[key] || key;
const $ = (id) => document.getElementById(id);

// Operators sign in through Keycloak (/login: authorisation code with PKCE, run by the
// console's server). The session is an httpOnly cookie the page never sees; actions
// (POST) also carry the session's CSRF token. A 401 means signed out: the page says so
// and offers to sign in again.
async function api(path, options) {
  const headers = { ...(options?.headers || {}) };
  if (options?.method && options.method !== "GET" && state.session) headers["X-CSRF-Token"] = state.session.csrf_token;
  const response = await fetch(`/api${path}`, { ...(options || {}), headers, credentials: "same-origin" });
  if (response.status === 401) { signedOut(); throw new Error(t("signed_out")); }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${response.status}`);
  return body;
}

function signedOut() {
  state.session = null;
  stopHealth();
  $("main").hidden = true; $("who").hidden = true; $("nav").hidden = true; $("signed-out").hidden = false;
  // Back from a sign-in refused for lack of the operations role (Keycloak signed it out).
  $("refused").hidden = new URLSearchParams(location.search).get("state") !== "forbidden";
  $("sign-in").href = `/login?next=${encodeURIComponent("/" + location.hash)}`;
}

function signedIn(session) {
  state.session = session;
  $("signed-out").hidden = true; $("main").hidden = false; $("who").hidden = false; $("nav").hidden = false;
  $("who-name").textContent = session.username;
}

async function signOut() {
  const response = await fetch("/logout", { method: "POST", credentials: "same-origin",
    headers: { "X-CSRF-Token": state.session?.csrf_token || "" } });
  const body = await response.json().catch(() => ({ redirect: "/" }));
  location.assign(body.redirect || "/");
}

function cell(value, cls) {
  const td = document.createElement("td");
  if (value instanceof Node) td.appendChild(value); else td.textContent = value ?? "";
  if (cls) td.className = cls;
  return td;
}

function fillTable(table, headers, rows) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const h of headers) { const th = document.createElement("th"); th.textContent = t(h); head.appendChild(th); }
  const body = table.createTBody();
  if (!rows.length) { const tr = body.insertRow(); const td = cell(t("none"), "muted"); td.colSpan = headers.length; tr.appendChild(td); }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const value of row) tr.appendChild(value instanceof HTMLTableCellElement ? value : cell(value));
  }
}

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString(state.lang === "vi" ? "vi-VN" : "en-GB") : "");
function since(iso) {
  if (!iso) return "";
  const minutes = Math.max(0, (Date.now() - new Date(iso).getTime()) / 60000);
  if (minutes >= 1440) return `${(minutes / 1440).toFixed(1)} ${t("days")}`;
  if (minutes >= 60) return `${(minutes / 60).toFixed(1)} ${t("hours")}`;
  return `${Math.round(minutes)} ${t("minutes")}`;
}
const pct = (rate) => `${(rate * 100).toFixed(1)} %`;

// --- language and tabs ------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const b of document.querySelectorAll("[data-lang]")) b.classList.toggle("active", b.dataset.lang === state.lang);
  document.title = `Liên thông · ${t("title")}`;
  renderMode();
}

function renderMode() {
  if (!state.config) return;
  $("mode").textContent = state.config.actions_enabled ? "" : t("read_only");
  for (const b of document.querySelectorAll("button.action")) b.disabled = !state.config.actions_enabled;
}

function showTab(tab) {
  state.tab = tab;
  for (const section of document.querySelectorAll("section.tab")) section.hidden = section.id !== `tab-${tab}`;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.tab === tab);
  stopHealth();
  ({ flows: loadFlows, ontime: loadOnTime, dossier: loadDossierFromHash, health: startHealth, deadletters: loadDeadLetters }[tab] || loadFlows)();
}

function route() {
  const [tab, arg] = (location.hash.slice(1) || "flows").split("/");
  if (tab === "dossier" && arg) { $("dossier-code").value = decodeURIComponent(arg); }
  showTab(tab);
}

// --- flows ------------------------------------------------------------------------------

async function loadFlows() {
  const days = Number($("flows-days").value);
  const until = new Date();
  const from = new Date(until.getTime() - days * 86400000);
  const view = await api(`/flows?since=${encodeURIComponent(from.toISOString())}&until=${encodeURIComponent(until.toISOString())}`);
  const chart = echarts.getInstanceByDom($("flow-chart")) || echarts.init($("flow-chart"));
  const diagram = view.diagram;
  $("flow-empty").hidden = diagram.links.length > 0;
  chart.setOption({
    tooltip: { trigger: "item", formatter: (p) => p.dataType === "edge"
      ? `${p.data.source} ${p.data.target}: ${p.data.value} (${t("completed")}: ${p.data.accepted || 0})` : p.name },
    series: [{ type: "sankey", data: diagram.nodes, links: diagram.links, emphasis: { focus: "adjacency" },
      lineStyle: { color: "gradient", curveness: 0.5 }, label: { fontSize: 13 } }],
  }, true);
  fillTable($("states-table"), ["state", "count"],
    Object.entries(view.by_state).filter(([, n]) => n > 0).map(([s, n]) => [s, cell(n, "num")]));
  fillTable($("backlog-table"), ["unit", "level", "total", "state"],
    view.by_unit.map((u) => [u.unit, u.level, cell(u.total, "num"),
      Object.entries(u.states).map(([s, n]) => `${s}: ${n}`).join(", ")]));
}

// --- on time ----------------------------------------------------------------------------

async function loadOnTime() {
  const [ontime, overdue] = await Promise.all([api("/ontime?months=6"), api("/overdue")]);
  const rateCell = (r) => cell(pct(r.rate), r.rate >= 0.9 ? "num ok" : "num bad");
  const rows = (list) => list.map((r) => [r.key, r.month, cell(r.completed, "num"), cell(r.on_time, "num"), cell(r.late, "num"), rateCell(r)]);
  fillTable($("ontime-unit-table"), ["unit", "month", "completed", "on_time", "late", "rate"], rows(ontime.by_unit));
  fillTable($("ontime-procedure-table"), ["procedure", "month", "completed", "on_time", "late", "rate"], rows(ontime.by_procedure));
  const chart = echarts.getInstanceByDom($("ontime-chart")) || echarts.init($("ontime-chart"));
  const units = [...new Set(ontime.by_unit.map((r) => r.key))];
  const months = [...new Set(ontime.by_unit.map((r) => r.month))].sort();
  chart.setOption({
    tooltip: { trigger: "axis" }, legend: { data: months }, yAxis: { type: "value", max: 100, name: "%" },
    xAxis: { type: "category", data: units, axisLabel: { rotate: 20 } },
    series: months.map((m) => ({ name: m, type: "bar",
      data: units.map((u) => { const r = ontime.by_unit.find((x) => x.key === u && x.month === m); return r ? +(r.rate * 100).toFixed(1) : null; }) })),
  }, true);
  const overdueRows = [];
  for (const unit of overdue.units) {
    for (const d of unit.dossiers) {
      const late = [d.step_lateness, d.dossier_lateness].includes("late");
      const link = document.createElement("a");
      link.href = `#dossier/${encodeURIComponent(d.dossier_code)}`; link.textContent = d.dossier_code;
      overdueRows.push([cell(link), cell(late ? t("late") : d.step_lateness || d.dossier_lateness, late ? "late" : "nearly"),
        unit.unit, d.state, d.step_name, d.step_due_date, d.appointment_date, fmtTime(d.waiting_since), since(d.waiting_since)]);
    }
  }
  fillTable($("overdue-table"), ["dossier", "status", "held_by", "state", "step", "step_due", "appointment", "waiting_since", "waiting_for"], overdueRows);
  fillTable($("apologies-table"), ["dossier", "procedure", "held_by", "original_date", "new_date"],
    ontime.apologies.map((a) => [a.dossier_code, a.procedure_code, a.holding_unit, a.original_appointment_date, a.appointment_date]));
}

// --- a dossier --------------------------------------------------------------------------

function loadDossierFromHash() {
  const code = $("dossier-code").value.trim() || decodeURIComponent((location.hash.split("/")[1] || ""));
  if (code) loadDossier(code);
}

async function loadDossier(code) {
  $("dossier-error").hidden = true;
  let view;
  try { view = await api(`/dossiers/${encodeURIComponent(code)}`); } catch (err) {
    $("dossier-view").hidden = true; $("dossier-error").hidden = false; $("dossier-error").textContent = `${t("not_found")}: ${code}`; return;
  }
  const d = view.dossier, trail = view.trail;
  $("dossier-view").hidden = false;
  $("dossier-title").textContent = `${d.code} · ${d.procedure_name}`;
  $("dossier-summary").textContent = `${t("state")}: ${d.state} · ${t("held_by")}: ${d.holding_unit} · ${t("appointment")}: ${d.appointment_date}`;
  $("dossier-evidence").href = view.links.evidence;
  $("dossier-bundle").href = view.links.bundle;
  $("dossier-trace").hidden = !view.links.trace; $("dossier-no-trace").hidden = !!view.links.trace;
  if (view.links.trace) $("dossier-trace").href = view.links.trace;
  const timeline = $("trail-timeline");
  timeline.replaceChildren();
  for (const e of trail.events) {
    const li = document.createElement("li");
    const when = document.createElement("time"); when.dateTime = e.at; when.textContent = fmtTime(e.at);
    li.append(when, `${e.event} → ${e.state} @ ${e.holding_unit}${e.actor ? ` (${e.actor})` : ""}${e.detail ? ` — ${e.detail}` : ""}`);
    timeline.appendChild(li);
  }
  fillTable($("receipts-table"), ["receipt", "from", "to", "accepted_at", "status"],
    trail.transfers.map((x) => [x.receipt ? x.receipt.receipt_id : "—", x.from_unit, x.to_unit, fmtTime(x.receipt ? x.receipt.accepted_at : x.settled_at), x.status]));
  fillTable($("notifications-table"), ["channel", "recipient", "status", "attempts", "action"],
    view.notifications.map((n) => [n.channel, n.recipient, n.status, cell(n.attempts.length, "num"),
      n.status === "failed" ? cell(actionButton(t("redeliver"), () => redeliver(n, d.code))) : ""]));
}

async function redeliver(notification, code) {
  await api(`/notifications/${encodeURIComponent(notification.id)}/redeliver`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ dossier_code: code }) });
  loadDossier(code);
}

// --- health (server-sent events: the session cookie rides along with the EventSource)

function renderHealth(h) {
  if (h.error) { $("health-at").textContent = h.error; return; }
  $("health-at").textContent = fmtTime(h.at);
  fillTable($("health-services"), ["service", "ready", "outbox", "oldest"], h.services.map((s) => [
    s.service, cell(s.status, s.status === "ready" ? "ok" : "bad"),
    cell(s.outbox && s.outbox.pending != null ? s.outbox.pending : "—", "num"),
    cell(s.outbox && s.outbox.oldest_age_seconds != null ? `${s.outbox.oldest_age_seconds.toFixed(1)} s` : "—", "num")]));
  fillTable($("health-lag"), ["group", "topic", "partition", "lag"],
    h.lag.map((r) => [r.group, r.topic, cell(r.partition, "num"), cell(r.lag, r.lag > 0 ? "num bad" : "num")]));
  fillTable($("health-dlq"), ["topic", "count"], Object.entries(h.dead_letters).map(([topic, n]) => [topic, cell(n, "num bad")]));
}

function startHealth() {
  state.stream = new EventSource("/api/health/stream");
  state.stream.addEventListener("health", (ev) => renderHealth(JSON.parse(ev.data)));
  state.stream.addEventListener("signedout", () => signedOut());
  // The browser reconnects by itself after a network error; a refused reconnection
  // (401: the session ended) closes the stream, and the session check says why.
  state.stream.onerror = () => {
    if (state.stream && state.stream.readyState === EventSource.CLOSED) api("/session").catch(() => {});
  };
}

function stopHealth() {
  if (state.stream) { state.stream.close(); state.stream = null; }
}

// --- dead letters -----------------------------------------------------------------------

function actionButton(label, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.className = "action"; b.textContent = label;
  b.disabled = !(state.config && state.config.actions_enabled);
  b.addEventListener("click", onClick);
  return b;
}

function letterFilter() {
  const f = { original_topic: $("dl-topic").value.trim(), error_kind: $("dl-kind").value.trim(), consumer_group: $("dl-group").value.trim() };
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v));
}

async function replay(body) {
  const result = await api("/deadletters/replay", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  $("dl-result").hidden = false;
  $("dl-result").textContent = `${t("replayed")}: ${result.replayed.map((r) => `${r.dead_letter} (${r.action}: ${r.status})`).join(", ")}`;
  await loadDeadLetters();
}

async function loadDeadLetters() {
  const query = new URLSearchParams(letterFilter()).toString();
  const [letters, actions] = await Promise.all([api(`/deadletters?${query}`), api("/actions")]);
  fillTable($("dl-table"), ["at", "origin", "group", "error_kind", "error", "attempts", "failed_at", "action"], letters.items.map((l) => {
    const inspect = document.createElement("button");
    inspect.type = "button"; inspect.textContent = t("inspect");
    inspect.addEventListener("click", () => { $("dl-inspect").hidden = false; $("dl-inspect").textContent = JSON.stringify(l, null, 2); });
    const buttons = document.createElement("span");
    buttons.append(inspect, " ", actionButton(l.notification_id ? t("redeliver") : t("replay"), () => replay({ positions: [l.at] })));
    if (l.last_action) buttons.append(` ✔ ${t("replayed")} ${fmtTime(l.last_action.at)} (${l.last_action.operator})`);
    return [l.at, `${l.original_topic} [${l.original_partition}] @${l.original_offset}${l.event_type ? ` · ${l.event_type}` : ""}`,
      l.consumer_group, l.error_kind, l.error, cell(l.attempts, "num"), fmtTime(l.failed_at), cell(buttons)];
  }));
  fillTable($("actions-table"), ["at", "operator", "action", "what", "status"], actions.items.map((a) => [
    fmtTime(a.at), a.operator, a.action,
    [a.dead_letter, a.original_topic, a.event_type, a.notification_id, a.dossier_code].filter(Boolean).join(" · "), a.status]));
}

// --- start ------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => {
    state.lang = b.dataset.lang; localStorage.setItem("lt-lang", state.lang); applyLanguage(); route(); });
  $("flows-window").addEventListener("submit", (ev) => { ev.preventDefault(); loadFlows(); });
  $("dossier-form").addEventListener("submit", (ev) => { ev.preventDefault(); location.hash = `dossier/${encodeURIComponent($("dossier-code").value.trim())}`; });
  $("dl-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadDeadLetters(); });
  $("dl-replay-filtered").addEventListener("click", () => replay(letterFilter()));
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => document.querySelectorAll(".chart").forEach((el) => echarts.getInstanceByDom(el)?.resize()));
  $("sign-out").addEventListener("click", signOut);
  applyLanguage();
  try { signedIn(await api("/session")); } catch { return; }  // signed out: the page says so
  state.config = await api("/config");
  applyLanguage();
  route();
});
