// The operations console's pages: plain DOM and Apache ECharts, data from /api.
"use strict";

const state = {
  lang: localStorage.getItem("lt-lang") || "vi", config: null, session: null, tab: "flows", stream: null,
  // Dead letters: the filter last applied with "Lọc" (what the table shows and a bulk
  // replay acts on), the rows shown, and each row's last action outcome (kept across reloads).
  dl: { applied: {}, items: [], outcomes: new Map(), busy: false },
  notificationOutcomes: new Map(),
};
const fill = (text, vars) => (vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text);
const t = (key, vars) => fill((window.I18N[state.lang] || {})[key] || window.I18N.en[key] || key, vars);
// A code the services send (a state, a level, a status...), named in the page's language.
const label = (kind, code) => {
  if (code == null || code === "") return "";
  return ((window.I18N_CODES[state.lang] || {})[kind] || {})[code] || (window.I18N_CODES.en[kind] || {})[code] || String(code);
};
const $ = (id) => document.getElementById(id);

// --- calling the API, and saying what went wrong ----------------------------------------

class ApiError extends Error {
  // ``body``: the problem's other members (``service``, ``field``, ``notification_status``...).
  constructor(status, code, detail, body) {
    super(detail || code);
    this.status = status; this.code = code; this.detail = detail; this.body = body || {};
  }
}

// Operators sign in through Keycloak (/login: authorisation code with PKCE, run by the
// console's server). The session is an httpOnly cookie the page never sees; actions
// (POST) also carry the session's CSRF token. A 401 means signed out: the page says so
// and offers to sign in again. Every other refusal is an ApiError with the problem's
// HTTP status, code and detail (RFC 9457 problem+json).
async function api(path, options) {
  const headers = { ...(options?.headers || {}) };
  if (options?.method && options.method !== "GET" && state.session) headers["X-CSRF-Token"] = state.session.csrf_token;
  let response;
  try {
    response = await fetch(`/api${path}`, { ...(options || {}), headers, credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(0, "network", String(err && err.message ? err.message : err));
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) { signedOut(); throw new ApiError(401, body.code || "signed_out", body.detail || t("err_signed_out"), body); }
  if (!response.ok) throw new ApiError(response.status, body.code || `http_${response.status}`, body.detail || response.statusText, body);
  return body;
}

// Every code the console's API answers (docs/console.md, "Errors") has its own sentence
// (i18n.js, ``err_<code>``); a code the page does not know falls back to its kind.
const ERROR_CODES = new Set([
  "malformed_json", "nothing_selected", "unauthenticated", "invalid_token", "signed_out", "forbidden", "csrf",
  "actions_disabled", "not_found", "dossier_not_found", "not_a_dossier_code", "dead_letter_not_found", "notification_not_found",
  "method_not_allowed", "not_redeliverable", "not_replayable", "body_too_large", "invalid_request", "internal_error",
  "service_unavailable", "broker_unavailable", "store_unavailable", "identity_provider_unavailable", "network",
]);

// What kind of failure an error is, when its code has no sentence of its own.
function errorKind(err) {
  if (!(err instanceof ApiError)) return "other";
  if (ERROR_CODES.has(err.code)) return err.code;
  if (err.status === 401) return "signed_out";
  if (err.status === 404) return "not_found";
  if (err.status === 403) return "forbidden";
  if ([502, 503, 504].includes(err.status)) return "unavailable";
  if (err.status >= 400 && err.status < 500) return "refused";
  return "other";
}

// The sentence for ``err`` (``vars`` fill it: a dossier's ``code``...), and its technical
// line: the service's detail, code and status.
function describe(err, vars) {
  const kind = errorKind(err);
  const body = err instanceof ApiError ? err.body : {};
  const title = t(`err_${kind}`, {
    service: body.service || "?", field: body.field || "?", code: "?",
    notification_status: body.notification_status ? label("notification_status", body.notification_status) : "?",
    ...(vars || {}),
  });
  const tech = err instanceof ApiError
    ? `${err.detail && err.detail !== err.code ? `${err.detail} · ` : ""}${err.code}${err.status ? ` · HTTP ${err.status}` : ""}`
    : String(err && err.message ? err.message : err);
  return { kind, title, tech };
}

function problemNodes(err, vars, prefix) {
  const { title, tech } = describe(err, vars);
  const strong = document.createElement("strong");
  strong.textContent = prefix ? `${prefix}: ${title}` : title;
  const small = document.createElement("span"); small.className = "tech"; small.textContent = tech;
  return [strong, small];
}

// A page's data could not be read: say why where the data would be (nothing for a 401,
// the signed-out page says it).
function showProblem(box, err, vars) {
  if (err instanceof ApiError && err.status === 401) return;
  box.replaceChildren(...problemNodes(err, vars));
  box.hidden = false;
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

// --- tables, codes, times ---------------------------------------------------------------

function cell(value, cls) {
  const td = document.createElement("td");
  if (value instanceof Node) td.appendChild(value); else td.textContent = value ?? "";
  if (cls) td.className = cls;
  return td;
}

function fillTable(table, headers, rows) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const h of headers) { const th = document.createElement("th"); th.scope = "col"; th.textContent = t(h); head.appendChild(th); }
  const body = table.createTBody();
  if (!rows.length) { const tr = body.insertRow(); const td = cell(t("none"), "muted"); td.colSpan = headers.length; tr.appendChild(td); }
  for (const row of rows) {
    const tr = body.insertRow();
    row.forEach((value, i) => {
      const td = tr.appendChild(value instanceof HTMLTableCellElement ? value : cell(value));
      td.dataset.label = t(headers[i]);  // the column's name, shown beside the value on phones
    });
  }
}

// A code shown by its name, the code itself kept as the element's title (what logs say).
function named(kind, code) {
  const span = document.createElement("span");
  span.textContent = label(kind, code);
  if (code) { span.title = code; span.dataset.code = code; }
  return span;
}
const stateName = (code) => named("states", code);
const eventName = (type) => label("events", String(type || "").replace(/\.v\d+$/, "")) || "";
function eventNode(type) {
  const span = document.createElement("span");
  span.textContent = eventName(type); span.title = type || "";
  return span;
}

// Times are shown in Vietnam time, the platform's zone, with the zone named ("GMT+7"),
// whatever the browser's own zone; dates in the page language's usual form.
const ZONE = "Asia/Ho_Chi_Minh";
const locale = () => (state.lang === "vi" ? "vi-VN" : "en-GB");
const formats = {};
function formatter(name, options) {
  const key = `${state.lang}:${name}`;
  return formats[key] || (formats[key] = new Intl.DateTimeFormat(locale(), options));
}
const dateOptions = () => (state.lang === "vi" ? { day: "2-digit", month: "2-digit", year: "numeric" } : { day: "numeric", month: "short", year: "numeric" });
function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const day = formatter("day", { timeZone: ZONE, ...dateOptions() }).format(d);
  const time = formatter("time", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short" }).format(d);
  return state.lang === "vi" ? `${day} ${time}` : `${day}, ${time}`;
}
function zoneName() {
  const part = formatter("zone", { timeZone: ZONE, timeZoneName: "short" }).formatToParts(new Date()).find((p) => p.type === "timeZoneName");
  return part ? part.value : "GMT+7";
}
function timeNode(iso) {
  const el = document.createElement("time");
  if (iso) { el.dateTime = iso; el.title = iso; }
  el.textContent = fmtTime(iso);
  return el;
}
// A calendar date ("2026-12-02"): no zone, it is the same day everywhere.
function fmtDate(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
  if (!m) return value || "";
  return formatter("date", { timeZone: "UTC", ...dateOptions() }).format(new Date(Date.UTC(+m[1], m[2] - 1, +m[3])));
}
function fmtMonth(value) {
  const m = /^(\d{4})-(\d{2})$/.exec(value || "");
  if (!m) return value || "";
  return state.lang === "vi" ? `${m[2]}/${m[1]}` : formatter("month", { timeZone: "UTC", month: "short", year: "numeric" }).format(new Date(Date.UTC(+m[1], m[2] - 1, 1)));
}
const number = (n, digits = 0) => new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
const pct = (rate) => new Intl.NumberFormat(locale(), { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(rate);
function since(iso) {
  if (!iso) return "";
  const minutes = Math.max(0, (Date.now() - new Date(iso).getTime()) / 60000);
  if (minutes >= 1440) return `${number(minutes / 1440, 1)} ${t("days")}`;
  if (minutes >= 60) return `${number(minutes / 60, 1)} ${t("hours")}`;
  return `${Math.round(minutes)} ${t("minutes")}`;
}
const levelOfNode = (name) => String(name).replace(/[▸\s]/g, "");
const nodeName = (name) => (String(name).startsWith("▸") ? `▸ ${label("levels", levelOfNode(name))}` : `${label("levels", levelOfNode(name))} ▸`);

// A trail entry's detail: routing says it by a code with params (detail_code,
// detail_params; routing/domain/model.py), said here in the page's language. Entries
// recorded before routing had codes carry only the English sentence (detail): the
// known sentences are read back into a code and params, anything else is shown as it is.
const LEGACY_DETAILS = [
  [/^step (\d+): (.+) -> (.+), due (\d{4}-\d{2}-\d{2})$/, (m) => ["transfer_requested", { step_index: m[1], from_unit: m[2], to_unit: m[3], step_due_date: m[4] }]],
  [/^step (\d+): receipt (.+)$/, (m) => ["transfer_accepted", { step_index: m[1], receipt_id: m[2] }]],
  [/^step (\d+): (approve|reject|needs_supplement)$/, (m) => ["step_completed", { step_index: m[1], outcome: m[2] }]],
  [/^clock paused (\d+) working day\(s\)$/, (m) => ["supplement_provided", { paused_working_days: m[1] }]],
  [/^step (\d+) due (\d{4}-\d{2}-\d{2}), (-?\d+) working day\(s\) left$/, (m) => ["step_due_soon", { step_index: m[1], due_date: m[2], working_days_left: m[3] }]],
  [/^step (\d+) was due (\d{4}-\d{2}-\d{2})$/, (m) => ["step_overdue", { step_index: m[1], due_date: m[2] }]],
  [/^appointment (\d{4}-\d{2}-\d{2}) passed, the apology's new date missed too$/, (m) => ["appointment_passed_new_date_missed", { appointment_date: m[1] }]],
  [/^appointment (\d{4}-\d{2}-\d{2}) passed$/, (m) => ["appointment_passed", { appointment_date: m[1] }]],
  [/^Mẫu 04 no\. (.+): new appointment (\d{4}-\d{2}-\d{2})$/, (m) => ["apology_issued", { number: m[1], new_appointment_date: m[2] }]],
  [/^(\d+) VND: (.*)$/s, (m) => ["payment_requested", { amount_vnd: +m[1], description: m[2] }]],
  [/^(\d+) VND, reference (.+)$/, (m) => ["payment_received", { amount_vnd: +m[1], reference: m[2] }]],
  [/^(.*) \(request no\. (\d+)\)$/s, (m) => ["supplement_requested_again", { reason: m[1], request_number: m[2] }]],
];
// A param in the page's language: dates in its form, amounts grouped, outcomes named;
// units, ids and the units' own words (reasons, descriptions) as they are.
function detailParam(name, value) {
  if (value == null) return "";
  if (/(^|_)date$/.test(name)) return fmtDate(String(value));
  if (name === "amount_vnd") return number(+value);
  if (name === "outcome") return label("step_outcomes", value);
  if (name === "reason_code") return label("withdrawal_declined", value);
  if (name === "lateness") return label("judgements", value);
  if (name === "collection") return label("collections", value);
  return String(value);
}
function sayDetail(code, params) {
  const template = ((window.I18N_CODES[state.lang] || {}).trail_details || {})[code] || window.I18N_CODES.en.trail_details[code];
  if (!template) return null;
  const vars = Object.fromEntries(Object.entries(params || {}).map(([k, v]) => [k, detailParam(k, v)]));
  return fill(template, vars);
}
function detailText(entry) {
  if (entry.detail_code) {
    const said = sayDetail(entry.detail_code, entry.detail_params);
    if (said != null) return said;  // a code this page does not know yet: its sentence below
  } else if (entry.detail) {
    for (const [pattern, read] of LEGACY_DETAILS) {
      const m = pattern.exec(entry.detail);
      if (m) return sayDetail(...read(m));
    }
  }
  return entry.detail || "";
}

// --- language and tabs ------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const b of document.querySelectorAll("[data-lang]")) {
    b.classList.toggle("active", b.dataset.lang === state.lang);
    b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
  }
  document.title = `Liên thông · ${t("title")}`;
  $("zone-note").textContent = t("times_in_zone", { zone: zoneName() });
  renderMode();
}

function renderMode() {
  if (!state.config) return;
  $("mode").textContent = state.config.actions_enabled ? "" : t("read_only");
}

const actionsEnabled = () => !!(state.config && state.config.actions_enabled);
const TABS = { flows: loadFlows, ontime: loadOnTime, dossier: loadDossierFromHash, health: startHealth, deadletters: () => loadDeadLetters(true) };

function showTab(tab) {
  if (!(tab in TABS)) tab = "flows";
  state.tab = tab;
  for (const section of document.querySelectorAll("section.tab")) section.hidden = section.id !== `tab-${tab}`;
  for (const a of document.querySelectorAll("nav a")) {
    const current = a.dataset.tab === tab;
    a.classList.toggle("active", current);
    if (current) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  stopHealth();
  // Each page says itself what went wrong; nothing is left to fail unhandled.
  Promise.resolve().then(TABS[tab]).catch((err) => console.error(err));
}

// The page's hash: "#tab" or "#dossier/<code, encoded>". A code is everything after the
// first "/" (a link may leave a "/" of it unencoded); one whose escapes do not decode (a
// "%" typed into a link) is taken as written, rather than throwing from the router.
function hashRoute() {
  const [tab, ...rest] = (location.hash.slice(1) || "flows").split("/");
  const arg = rest.join("/");
  try { return [tab, decodeURIComponent(arg)]; } catch { return [tab, arg]; }
}

function route() {
  const [tab, code] = hashRoute();
  if (tab === "dossier" && code) { $("dossier-code").value = code; }
  showTab(tab);
}

function chartOf(el) {
  return echarts.getInstanceByDom(el) || echarts.init(el);
}
// No animation for those who asked their system for less motion.
const animate = () => !window.matchMedia("(prefers-reduced-motion: reduce)").matches;

// --- flows ------------------------------------------------------------------------------

async function loadFlows() {
  const days = Number($("flows-days").value);
  const until = new Date();
  const from = new Date(until.getTime() - days * 86400000);
  $("flows-error").hidden = true;
  let view;
  try {
    view = await api(`/flows?since=${encodeURIComponent(from.toISOString())}&until=${encodeURIComponent(until.toISOString())}`);
  } catch (err) {
    $("flows-content").hidden = true; showProblem($("flows-error"), err); return;
  }
  $("flows-content").hidden = false;
  const el = $("flow-chart");
  const chart = chartOf(el);
  chart.resize();
  const diagram = view.diagram;
  $("flow-empty").hidden = diagram.links.length > 0;
  const counts = (l) => `${t("accepted")} ${l.accepted || 0}, ${t("refused_n")} ${l.refused || 0}, ${t("pending_n")} ${l.pending || 0}`;
  chart.setOption({
    animation: animate(),
    // ECharts draws a tooltip's text as HTML: what the API sent is escaped.
    tooltip: { trigger: "item", formatter: (p) => echarts.format.encodeHTML(p.dataType === "edge"
      ? `${nodeName(p.data.source)} → ${nodeName(p.data.target)}: ${p.data.value} ${t("handovers")} (${counts(p.data)})`
      : nodeName(p.name)) },
    series: [{ type: "sankey", data: diagram.nodes, links: diagram.links, emphasis: { focus: "adjacency" },
      lineStyle: { color: "gradient", curveness: 0.5 }, label: { fontSize: 13, formatter: (p) => nodeName(p.name) } }],
  }, true);
  const summary = diagram.links.map((l) => `${label("levels", levelOfNode(l.source))} → ${label("levels", levelOfNode(l.target))}: ${l.value} (${counts(l)})`);
  el.setAttribute("aria-label", t("chart_flows", { days, links: summary.length ? summary.join("; ") : t("no_transfers") }));
  fillTable($("states-table"), ["state", "count"],
    Object.entries(view.by_state).filter(([, n]) => n > 0).map(([s, n]) => [cell(stateName(s)), cell(n, "num")]));
  fillTable($("backlog-table"), ["unit", "level", "total", "state"],
    view.by_unit.map((u) => [u.unit, cell(named("levels", u.level)), cell(u.total, "num"),
      Object.entries(u.states).map(([s, n]) => `${label("states", s)}: ${n}`).join(", ")]));
}

// --- on time ----------------------------------------------------------------------------

// The step's name in the page's language (English when routing gives it; a dossier stored
// before routing did shows its Vietnamese name).
const stepName = (d) => (state.lang === "en" && d.step_name_en ? d.step_name_en : d.step_name);

async function loadOnTime() {
  $("ontime-error").hidden = true;
  let ontime, overdue;
  try {
    [ontime, overdue] = await Promise.all([api("/ontime?months=6"), api("/overdue")]);
  } catch (err) {
    $("ontime-content").hidden = true; showProblem($("ontime-error"), err); return;
  }
  $("ontime-content").hidden = false;
  const rateCell = (r) => cell(pct(r.rate), r.rate >= 0.9 ? "num ok" : "num bad");
  const rows = (list) => list.map((r) => [r.key, fmtMonth(r.month), cell(r.completed, "num"), cell(r.on_time, "num"), cell(r.late, "num"), rateCell(r)]);
  fillTable($("ontime-unit-table"), ["unit", "month", "completed", "on_time", "late", "rate"], rows(ontime.by_unit));
  fillTable($("ontime-procedure-table"), ["procedure", "month", "completed", "on_time", "late", "rate"], rows(ontime.by_procedure));
  const el = $("ontime-chart");
  const chart = chartOf(el);
  chart.resize();
  const units = [...new Set(ontime.by_unit.map((r) => r.key))];
  const months = [...new Set(ontime.by_unit.map((r) => r.month))].sort();
  chart.setOption({
    animation: animate(),
    tooltip: { trigger: "axis" }, legend: { data: months.map(fmtMonth) }, yAxis: { type: "value", max: 100, name: "%" },
    xAxis: { type: "category", data: units, axisLabel: { rotate: 20 } },
    series: months.map((m) => ({ name: fmtMonth(m), type: "bar",
      data: units.map((u) => { const r = ontime.by_unit.find((x) => x.key === u && x.month === m); return r ? +(r.rate * 100).toFixed(1) : null; }) })),
  }, true);
  const described = ontime.by_unit.map((r) => `${r.key} ${fmtMonth(r.month)} ${pct(r.rate)}`);
  el.setAttribute("aria-label", t("chart_ontime", { rows: described.length ? described.join("; ") : t("none") }));
  const overdueRows = [];
  for (const unit of overdue.units) {
    for (const d of unit.dossiers) {
      const late = [d.step_lateness, d.dossier_lateness].includes("late");
      const link = document.createElement("a");
      link.href = `#dossier/${encodeURIComponent(d.dossier_code)}`; link.textContent = d.dossier_code;
      overdueRows.push([cell(link), cell(named("lateness", late ? "late" : "nearly_late"), late ? "late" : "nearly"),
        unit.unit, cell(stateName(d.state)), stepName(d), fmtDate(d.step_due_date), fmtDate(d.appointment_date),
        cell(timeNode(d.waiting_since)), since(d.waiting_since)]);
    }
  }
  fillTable($("overdue-table"), ["dossier", "status", "held_by", "state", "step", "step_due", "appointment", "waiting_since", "waiting_for"], overdueRows);
  // An apology issued after its due date (one working day before the appointment) is taken
  // and marked late by routing (docs/legal.md, Mẫu 04).
  const issued = (a) => (a.late
    ? cell(a.due_by ? t("issued_late", { due: fmtDate(a.due_by) }) : named("lateness", "late"), "late")
    : cell(t("issued_on_time")));
  fillTable($("apologies-table"), ["dossier", "procedure", "held_by", "original_date", "new_date", "issued"],
    ontime.apologies.map((a) => [a.dossier_code, a.procedure_code, a.holding_unit, fmtDate(a.original_appointment_date), fmtDate(a.appointment_date), issued(a)]));
}

// --- a dossier --------------------------------------------------------------------------

function loadDossierFromHash() {
  const code = $("dossier-code").value.trim() || hashRoute()[1];
  if (code) return loadDossier(code);
  return undefined;
}

// No dossier code is "." or ".." (a code is {unit}-{YYMMDD}-{NNNN}), and the browser would
// resolve either as a path segment, encoded or not, and ask another route: refused here,
// as the API refuses it (console/domain.py, NOT_DOSSIER_CODES).
const NOT_DOSSIER_CODES = new Set([".", ".."]);

async function loadDossier(code) {
  $("dossier-error").hidden = true;
  let view;
  try {
    // Status 0: no request was made (the technical line names no HTTP answer).
    if (NOT_DOSSIER_CODES.has(code)) throw new ApiError(0, "not_a_dossier_code", `${code} is not a dossier code`, { field: "code" });
    view = await api(`/dossiers/${encodeURIComponent(code)}`);
  } catch (err) {
    $("dossier-view").hidden = true; showProblem($("dossier-error"), err, { code }); return;
  }
  const d = view.dossier, trail = view.trail;
  $("dossier-view").hidden = false;
  $("dossier-title").textContent = `${d.code} · ${d.procedure_name}`;
  $("dossier-summary").replaceChildren(`${t("state")}: `, stateName(d.state),
    ` · ${t("held_by")}: ${d.holding_unit} · ${t("appointment")}: ${fmtDate(d.appointment_date)}`);
  $("dossier-trace").hidden = !view.links.trace; $("dossier-no-trace").hidden = !!view.links.trace;
  if (view.links.trace) $("dossier-trace").href = view.links.trace;
  const timeline = $("trail-timeline");
  timeline.replaceChildren();
  for (const e of trail.events) {
    const li = document.createElement("li");
    const what = eventNode(e.event); what.className = "event";
    const detail = detailText(e);
    li.append(timeNode(e.at), what, " → ", stateName(e.state), ` · ${e.holding_unit}${e.actor ? ` (${e.actor})` : ""}${detail ? ` — ${detail}` : ""}`);
    timeline.appendChild(li);
  }
  fillTable($("receipts-table"), ["receipt", "from", "to", "accepted_at", "status"],
    trail.transfers.map((x) => [cell(x.receipt ? x.receipt.receipt_id : "—", "code"), x.from_unit, x.to_unit,
      cell(timeNode(x.receipt ? x.receipt.accepted_at : x.settled_at)), cell(named("transfer_status", x.status))]));
  fillTable($("notifications-table"), ["event", "created_at", "last_outcome_at", "channel", "recipient", "status", "attempts", "error", "action"],
    view.notifications.map((n) => notificationRow(n, d.code)));
}

function notificationRow(n, code) {
  const type = n.template || n.source_event_type;
  const recipient = `${label("recipient_kinds", n.recipient_kind)}: ${n.recipient}`;
  const lastError = n.error || (n.attempts.length ? n.attempts[n.attempts.length - 1].error : null);
  const actions = document.createElement("div");
  if (n.status === "failed") {
    const button = actionButton(t("redeliver"), (b) => redeliver(n, code, b));
    button.setAttribute("aria-label", `${t("redeliver")}: ${t("notification_context", { event: eventName(type), channel: label("channels", n.channel), recipient: n.recipient })}`);
    actions.append(button);
  }
  const outcome = state.notificationOutcomes.get(n.id);
  if (outcome) actions.append(outcomeNode(outcome));
  return [cell(eventNode(type)), cell(timeNode(n.created_at)), cell(timeNode(n.sent_at || n.failed_at)),
    label("channels", n.channel), recipient, cell(named("notification_status", n.status), n.status === "failed" ? "bad" : ""),
    cell(n.attempts.length, "num"), lastError || "", cell(actions, "actions")];
}

// A redelivery is a request: the answer is ``requested`` (notification has not sent it
// yet); what came of it is read later (the recorded actions). Refused up front (404
// notification_not_found, 409 not_redeliverable naming the notification's status), the
// row says why. The dossier recorded is the notification's own: only a reason is sent.
async function redeliver(notification, code, button) {
  button.disabled = true;
  const type = notification.template || notification.source_event_type;
  try {
    const action = await api(`/notifications/${encodeURIComponent(notification.id)}/redeliver`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: REDELIVERY_REASON }) });
    state.notificationOutcomes.set(notification.id, { ok: true, text: () => t("outcome_notification", {
      event: eventName(type), channel: label("channels", notification.channel), status: actionStatus(action),
      at: fmtTime(action.at), operator: action.operator || "" }) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    state.notificationOutcomes.set(notification.id, failure(err));
  }
  await loadDossier(code);
}

// --- health (server-sent events: the session cookie rides along with the EventSource)

function renderHealth(h) {
  if (h.error) {
    const strong = document.createElement("strong"); strong.textContent = `${t("err_health")}: ${t("err_unavailable")}`;
    const tech = document.createElement("span"); tech.className = "tech"; tech.textContent = h.error;
    $("health-error").replaceChildren(strong, tech); $("health-error").hidden = false;
    return;
  }
  $("health-error").hidden = true;
  $("health-at").replaceChildren(timeNode(h.at));
  fillTable($("health-services"), ["service", "ready", "outbox", "oldest"], h.services.map((s) => [
    s.service, cell(named("readiness", s.status), s.status === "ready" ? "ok" : "bad"),
    cell(s.outbox && s.outbox.pending != null ? number(s.outbox.pending) : "—", "num"),
    cell(s.outbox && s.outbox.oldest_age_seconds != null ? `${number(s.outbox.oldest_age_seconds, 1)} s` : "—", "num")]));
  fillTable($("health-lag"), ["group", "topic", "partition", "lag"], lagRows(h.lag));
  fillTable($("health-dlq"), ["topic", "count"], Object.entries(h.dead_letters).map(([topic, n]) => [topic, cell(n, "num bad")]));
}

// Lag is given for every partition of every topic a group has offsets on: many rows. A
// partition behind keeps its own row; those at 0 are one row per group and topic.
function partitionRanges(parts) {
  const sorted = [...parts].sort((a, b) => a - b), out = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(j > i ? `${sorted[i]}–${sorted[j]}` : String(sorted[i]));
    i = j;
  }
  return out.join(", ");
}
function lagRows(lag) {
  const groups = new Map();
  for (const r of lag) {
    const key = `${r.group}\u0000${r.topic}`;
    if (!groups.has(key)) groups.set(key, { group: r.group, topic: r.topic, rows: [] });
    groups.get(key).rows.push(r);
  }
  const rows = [];
  for (const g of groups.values()) {
    for (const r of g.rows.filter((x) => x.lag > 0)) rows.push([r.group, r.topic, cell(r.partition, "num"), cell(number(r.lag), "num bad")]);
    const idle = g.rows.filter((x) => !(x.lag > 0)).map((x) => x.partition);
    if (idle.length === 1) rows.push([g.group, g.topic, cell(idle[0], "num"), cell(0, "num")]);
    else if (idle.length) {
      const td = cell(t("lag_zero", { count: idle.length, list: partitionRanges(idle) }), "muted zero-lag");
      td.dataset.partitions = String(idle.length);
      rows.push([g.group, g.topic, td, cell(0, "num")]);
    }
  }
  return rows;
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

// --- actions: every outcome is said where the operator acted -----------------------------

function actionButton(text, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.className = "action"; b.textContent = text;
  b.disabled = !actionsEnabled();
  if (!actionsEnabled()) b.title = t("read_only");
  b.addEventListener("click", () => onClick(b));
  return b;
}

// A failed action: its sentence by kind, then the service's detail and code.
function failure(err) {
  return { ok: false, text: () => { const { title, tech } = describe(err); return `${t("action_failed")}: ${title} (${tech})`; } };
}

function outcomeNode(outcome) {
  const span = document.createElement("span");
  span.className = `outcome ${outcome.ok ? "ok" : "bad"}`;
  span.setAttribute("role", outcome.ok ? "status" : "alert");
  span.textContent = outcome.text();
  return span;
}

function confirmDialog(text, detail, items, okText) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  $("confirm-detail").textContent = detail || ""; $("confirm-detail").hidden = !detail;
  $("confirm-list").replaceChildren(...items.map((x) => { const li = document.createElement("li"); li.textContent = x; return li; }));
  $("confirm-ok").textContent = okText;
  return new Promise((resolve) => {
    const done = (answer) => { dialog.removeEventListener("close", onClose); $("confirm-ok").onclick = null; $("confirm-cancel").onclick = null; if (dialog.open) dialog.close(); resolve(answer); };
    const onClose = () => done(false);
    $("confirm-ok").onclick = () => done(true);
    $("confirm-cancel").onclick = () => done(false);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

// --- dead letters -----------------------------------------------------------------------

// An action's outcome as said everywhere: its status, a redelivery's notification status
// as last read ("đã yêu cầu · Tạm giữ"), and its error.
const REDELIVERY_REASON = "redelivery asked from the console's dossier page";
const BAD_STATUSES = new Set(["failed", "refused", "skipped", "unknown"]);
function actionStatus(a, withError) {
  let text = label("action_status", a.status);
  if (a.notification_status) text += ` · ${t("notification_now", { status: label("notification_status", a.notification_status) })}`;
  if (withError && a.error) text += ` — ${a.error}`;
  return text;
}

// Replayed already, so neither a row nor a bulk replay offers it again: a replay that is
// ``done``, a redelivery ``requested`` or ``sent``. A replay ``failed`` or left
// ``recorded`` is carried out again when replayed again; a redelivery that failed,
// was skipped, refused or is unknown is not called replayed either (its note says so).
function replayed(l) {
  const a = l.last_action;
  if (!a) return false;
  return a.action === "redelivery" ? ["requested", "sent"].includes(a.status) : a.status === "done";
}
const dossierOf = (l) => l.key || "—";
const letterVars = (l) => ({ position: l.at, topic: l.original_topic, dossier: dossierOf(l) });
const letterLine = (l) => `${l.at} · ${l.original_topic} · ${dossierOf(l)}`;

function filterOf(inputs) {
  const f = { original_topic: inputs.topic.trim(), error_kind: inputs.kind.trim(), consumer_group: inputs.group.trim() };
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v));
}
const typedFilter = () => filterOf({ topic: $("dl-topic").value, kind: $("dl-kind").value, group: $("dl-group").value });
const sameFilter = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
function filterText(f) {
  const names = { original_topic: t("original_topic"), error_kind: t("error_kind"), consumer_group: t("consumer_group") };
  const parts = Object.entries(f).map(([k, v]) => `${names[k]} = ${k === "error_kind" ? `${label("error_kinds", v)} (${v})` : v}`);
  return parts.length ? parts.join(", ") : t("bulk_no_filter");
}

// The bulk replay acts on the applied filter's rows (those shown), never on what is typed
// in the boxes; it needs a filter (the API refuses an empty one) and skips letters replayed.
function updateBulk() {
  const applied = state.dl.applied, pending = !sameFilter(applied, typedFilter());
  const open = state.dl.items.filter((l) => !replayed(l));
  $("dl-applied").textContent = t("bulk_applied", { count: state.dl.items.length, filter: filterText(applied) });
  let hint = "";
  if (!actionsEnabled()) hint = t("read_only");
  else if (pending) hint = t("bulk_pending_filter");
  else if (!Object.keys(applied).length) hint = t("bulk_needs_filter");
  else if (!open.length && state.dl.items.length) hint = t("bulk_all_replayed");
  $("dl-bulk-hint").textContent = hint;
  $("dl-replay-filtered").disabled = !!hint || state.dl.busy || !open.length;
}

function fillKinds(items, chosen) {
  const select = $("dl-kind");
  const kinds = new Set([...Object.keys(window.I18N_CODES.en.error_kinds), ...items.map((l) => l.error_kind).filter(Boolean)]);
  if (chosen) kinds.add(chosen);
  const any = document.createElement("option"); any.value = ""; any.textContent = t("any");
  select.replaceChildren(any, ...[...kinds].sort().map((k) => {
    const o = document.createElement("option"); o.value = k; o.textContent = `${label("error_kinds", k)} (${k})`; return o;
  }));
  select.value = chosen;
}

function fillSuggestions(list, values) {
  list.replaceChildren(...[...new Set(values.filter(Boolean))].sort().map((v) => { const o = document.createElement("option"); o.value = v; return o; }));
}

async function loadDeadLetters(showApplied) {
  $("dl-error").hidden = true;
  if (showApplied) {  // on entering the page the boxes show the applied filter again
    $("dl-topic").value = state.dl.applied.original_topic || "";
    $("dl-group").value = state.dl.applied.consumer_group || "";
  }
  const query = new URLSearchParams(state.dl.applied).toString();
  let letters, actions;
  try {
    [letters, actions] = await Promise.all([api(`/deadletters?${query}`), api("/actions")]);
  } catch (err) {
    showProblem($("dl-error"), err); state.dl.items = [];
    $("dl-table").replaceChildren(); $("actions-table").replaceChildren(); updateBulk(); return;
  }
  state.dl.items = letters.items;
  fillKinds(letters.items, showApplied ? state.dl.applied.error_kind || "" : $("dl-kind").value);
  fillSuggestions($("dl-topics"), letters.items.map((l) => l.original_topic));
  fillSuggestions($("dl-groups"), letters.items.map((l) => l.consumer_group));
  fillTable($("dl-table"), ["position", "dossier", "origin", "group", "error_kind", "error", "attempts", "failed_at", "action"],
    letters.items.map(letterRow));
  fillTable($("actions-table"), ["at", "operator", "action", "what", "status"], actions.items.map((a) => [
    cell(timeNode(a.at)), a.operator, label("action_kinds", a.action),
    [a.dead_letter, a.original_topic, a.event_type ? eventName(a.event_type) : null, a.notification_id, a.dossier_code].filter(Boolean).join(" · "),
    statusCell(a)]));
  updateBulk();
}

function statusCell(a) {
  const td = cell(actionStatus(a, true), BAD_STATUSES.has(a.status) ? "bad" : "");
  td.title = [a.status, a.notification_status].filter(Boolean).join(" · ");
  td.dataset.status = a.status || "";
  return td;
}

function letterRow(l) {
  const inspect = document.createElement("button");
  inspect.type = "button"; inspect.textContent = t("inspect");
  inspect.setAttribute("aria-label", `${t("inspect")}: ${t("letter_context", letterVars(l))}`);
  inspect.addEventListener("click", () => showLetter(l, inspect));
  const redelivery = !!l.notification_id;
  const done = replayed(l);
  const text = done ? t(redelivery ? "already_redelivered" : "already_replayed") : t(redelivery ? "redeliver" : "replay");
  const button = actionButton(text, (b) => replayOne(l, b));
  if (done) button.disabled = true;  // replayed once: the API would only answer with that action
  button.setAttribute("aria-label", `${text}: ${t("letter_context", letterVars(l))}`);
  const actions = document.createElement("div");
  actions.append(inspect, button);
  if (l.last_action) {
    const note = document.createElement("span");
    note.className = "outcome muted";
    const vars = { what: label("action_kinds", l.last_action.action), at: fmtTime(l.last_action.at),
      operator: l.last_action.operator || "", status: actionStatus(l.last_action, true) };
    const replayFailed = l.last_action.action === "replay" && l.last_action.status === "failed";
    note.textContent = t(replayFailed ? "last_action_failed" : "replayed_by", vars);
    actions.append(note);
  }
  const outcome = state.dl.outcomes.get(l.at);
  if (outcome) actions.append(outcomeNode(outcome));
  let dossier = "—";
  if (l.key) { dossier = document.createElement("a"); dossier.href = `#dossier/${encodeURIComponent(l.key)}`; dossier.textContent = l.key; }
  const where = l.original_partition >= 0 ? ` · ${t("partition_offset", { partition: l.original_partition, offset: l.original_offset })}` : "";
  const origin = `${l.original_topic}${where}${l.event_type ? ` · ${l.event_type}` : ""}`;
  return [cell(l.at, "code"), cell(dossier), origin, l.consumer_group, cell(named("error_kinds", l.error_kind)), l.error,
    cell(l.attempts, "num"), cell(timeNode(l.failed_at)), cell(actions, "actions")];
}

// One letter's result: a redelivery or a replay refused up front (``refused``, no action
// recorded: ``id`` null, its ``code`` and ``error``) is said with its reason, never as a success.
function refusalOf(r) {
  return new ApiError(r.code === "not_redeliverable" || r.code === "not_replayable" ? 409 : r.code === "notification_not_found" ? 404 : 0,
    r.code || "refused", r.error, { notification_status: r.notification_status });
}
function refusedReason(r) {
  const { title } = describe(refusalOf(r));
  return `${title}${r.error ? ` (${r.error})` : ""}`;
}
function replayOutcome(r) {
  if (r.status === "refused") return { ok: false, text: () => t(r.action === "replay" ? "outcome_not_replayed" : "outcome_refused", { position: r.dead_letter, reason: refusedReason(r) }) };
  if (r.action !== "redelivery" && r.status === "failed") return { ok: false, text: () => t("outcome_replay_failed", { position: r.dead_letter, error: r.error || label("action_status", "failed") }) };
  const key = r.action === "redelivery" ? "outcome_redelivery" : "outcome_replayed";
  return { ok: !BAD_STATUSES.has(r.status), text: () => t(key, { position: r.dead_letter, status: actionStatus(r, true) }) };
}

async function replayOne(letter, button) {
  button.disabled = true; button.textContent = t("working");
  try {
    const result = await api("/deadletters/replay", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ positions: [letter.at] }) });
    for (const r of result.replayed) state.dl.outcomes.set(r.dead_letter, replayOutcome(r));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    state.dl.outcomes.set(letter.at, failure(err));
  }
  await loadDeadLetters();
}

async function replayShown() {
  const applied = state.dl.applied;
  if (!sameFilter(applied, typedFilter()) || !Object.keys(applied).length) { updateBulk(); return; }
  const shown = state.dl.items, open = shown.filter((l) => !replayed(l)), skipped = shown.filter(replayed);
  if (!open.length) { updateBulk(); return; }
  const ok = await confirmDialog(t("bulk_confirm", { count: open.length, filter: filterText(applied) }),
    skipped.length ? t("bulk_confirm_skipped", { count: skipped.length }) : "", open.map(letterLine), t("bulk_confirm_ok", { count: open.length }));
  if (!ok) return;
  const result = $("dl-result");
  result.hidden = false; result.className = "notice"; result.textContent = t("working");
  state.dl.busy = true; updateBulk();
  const lines = [], outcomes = [];
  try {
    // Positions name exactly the rows shown; the filter goes along, so a letter that no
    // longer matches it is refused rather than replayed. The API takes 1000 at a time.
    for (let i = 0; i < open.length; i += 1000) {
      const positions = open.slice(i, i + 1000).map((l) => l.at);
      const answer = await api("/deadletters/replay", { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ positions, ...applied }) });
      outcomes.push(...answer.replayed);
    }
  } catch (err) {
    state.dl.busy = false;
    if (err instanceof ApiError && err.status === 401) return;
    result.className = "notice bad";
    const p = document.createElement("p"); p.append(...problemNodes(err, null, t("action_failed")));
    lines.push(p);
  }
  state.dl.busy = false;
  for (const r of outcomes) state.dl.outcomes.set(r.dead_letter, replayOutcome(r));
  const refused = outcomes.filter((r) => r.status === "refused" && r.action !== "replay");
  const notReplayed = outcomes.filter((r) => r.status === "refused" && r.action === "replay");
  const bad = outcomes.filter((r) => r.status !== "refused" && BAD_STATUSES.has(r.status));
  const good = outcomes.filter((r) => !BAD_STATUSES.has(r.status));
  const para = (text, cls) => { const p = document.createElement("p"); p.textContent = text; if (cls) p.className = cls; return p; };
  if (good.length) lines.unshift(para(t("bulk_done", { count: good.length, list: good.map((r) => `${r.dead_letter} (${label("action_kinds", r.action)}: ${actionStatus(r)})`).join(", ") }), "ok"));
  if (bad.length) { result.className = "notice bad"; lines.push(para(t("bulk_failed", { count: bad.length, list: bad.map((r) => `${r.dead_letter}: ${actionStatus(r, true)}`).join(", ") }), "bad")); }
  if (refused.length) { result.className = "notice bad"; lines.push(para(t("bulk_refused", { count: refused.length, list: refused.map((r) => `${r.dead_letter}: ${refusedReason(r)}`).join(", ") }), "bad")); }
  if (notReplayed.length) { result.className = "notice bad"; lines.push(para(t("bulk_not_replayed", { count: notReplayed.length, list: notReplayed.map((r) => `${r.dead_letter}: ${refusedReason(r)}`).join(", ") }), "bad")); }
  if (skipped.length) lines.push(para(t("bulk_skipped", { count: skipped.length, list: skipped.map((l) => l.at).join(", ") })));
  result.replaceChildren(...lines);
  await loadDeadLetters();
}

// One letter, labelled with where it is and which dossier, its message pretty-printed.
function showLetter(l, opener) {
  $("dl-inspect-title").textContent = t("inspect_title", letterVars(l));
  const meta = $("dl-inspect-meta");
  meta.replaceChildren();
  const where = l.original_partition >= 0 ? ` (${t("partition_offset", { partition: l.original_partition, offset: l.original_offset })})` : "";
  for (const [key, value] of [["position", l.at], ["dossier", dossierOf(l)], ["original_topic", `${l.original_topic}${where}`],
    ["event", l.event_type ? `${eventName(l.event_type)} (${l.event_type})` : "—"], ["event_id", l.event_id || "—"],
    ["consumer_group", l.consumer_group], ["error_kind", `${label("error_kinds", l.error_kind)} (${l.error_kind})`],
    ["error", l.error], ["attempts", l.attempts], ["failed_at", fmtTime(l.failed_at)]]) {
    const dt = document.createElement("dt"); dt.textContent = t(key);
    const dd = document.createElement("dd"); dd.textContent = value ?? "";
    meta.append(dt, dd);
  }
  let message = l.message || "";
  if (l.message_withheld) {  // a topic carrying personal data: an outline, no values
    message = `${t("message_withheld", { what: l.message_withheld })}\n\n${JSON.stringify(l.message_outline || {}, null, 2)}`;
  } else {
    try { message = JSON.stringify(JSON.parse(message), null, 2); } catch { /* not JSON: shown as it is */ }
  }
  $("dl-inspect-message").textContent = message;
  $("dl-inspect-headers").textContent = Object.entries(l.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n") || t("none");
  const dialog = $("dl-inspect");
  dialog.addEventListener("close", () => opener && opener.isConnected && opener.focus(), { once: true });
  dialog.showModal();
  $("dl-inspect-close").focus();
}

// --- start ------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => {
    state.lang = b.dataset.lang; localStorage.setItem("lt-lang", state.lang); applyLanguage(); if (state.session) route(); });
  $("flows-window").addEventListener("submit", (ev) => { ev.preventDefault(); loadFlows(); });
  $("dossier-form").addEventListener("submit", (ev) => { ev.preventDefault(); location.hash = `dossier/${encodeURIComponent($("dossier-code").value.trim())}`; });
  $("dl-filter").addEventListener("submit", (ev) => { ev.preventDefault(); state.dl.applied = typedFilter(); $("dl-result").hidden = true; loadDeadLetters(); });
  for (const id of ["dl-topic", "dl-kind", "dl-group"]) for (const ev of ["input", "change"]) $(id).addEventListener(ev, updateBulk);
  $("dl-replay-filtered").addEventListener("click", () => replayShown());
  $("dl-inspect-close").addEventListener("click", () => $("dl-inspect").close());
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => document.querySelectorAll(".chart").forEach((el) => echarts.getInstanceByDom(el)?.resize()));
  $("sign-out").addEventListener("click", signOut);
  applyLanguage();
  try { signedIn(await api("/session")); } catch { return; }  // signed out: the page says so
  try { state.config = await api("/config"); } catch (err) { state.config = { actions_enabled: false }; }
  applyLanguage();
  route();
});
