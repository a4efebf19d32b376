// The dashboard page: loads /api/snapshot, then follows /api/stream (Server-Sent Events).
// Every value from the logs is put on the page with textContent, never as HTML.
"use strict";

const state = { snapshot: null, feed: new Map(), seq: 0, source: null, refreshTimer: null, traceSession: "" };
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else if (k === "title") node.title = v;
    else node[k] = v;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const fmtInt = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "-");
function fmtCost(c) {
  if (typeof c !== "number") return "-";
  return c < 1 ? "$" + c.toFixed(4) : "$" + c.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function fmtMs(ms) {
  if (typeof ms !== "number") return "-";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + " ms";
  return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
}
function fmtTime(ts) {
  if (typeof ts !== "string" || ts.length < 19) return "-";
  return ts.slice(11, 19);
}
function fmtAgo(seconds) {
  if (typeof seconds !== "number") return "-";
  if (seconds < 120) return Math.round(seconds) + " s";
  if (seconds < 7200) return Math.round(seconds / 60) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}
const short = (id) => (id ? String(id).slice(0, 8) : "-");
const tag = (text, kind) => el("span", { class: "tag " + (kind || text) }, text);

// -- data ------------------------------------------------------------------------------------

async function loadSnapshot() {
  const response = await fetch("/api/snapshot", { credentials: "same-origin" });
  if (!response.ok) throw new Error("snapshot: HTTP " + response.status);
  const data = await response.json();
  state.snapshot = data;
  if (state.feed.size === 0 || data.seq < state.seq) state.feed = new Map();
  for (const row of data.feed) state.feed.set(row.id, row);
  state.seq = Math.max(state.seq, data.seq);
  render();
  if (data.loading) scheduleRefresh(400); // the logs are still being read: show more as it comes
  return data;
}

function scheduleRefresh(delay) {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    loadSnapshot().catch(showProblem);
  }, delay);
}

function connect() {
  if (state.source) state.source.close();
  const source = new EventSource("/api/stream?since=" + state.seq);
  state.source = source;
  source.onopen = () => setLive(true);
  source.onerror = () => setLive(false);
  source.addEventListener("calls", (e) => {
    const data = JSON.parse(e.data);
    for (const row of data.rows) {
      state.feed.delete(row.id);
      state.feed.set(row.id, row);
    }
    while (state.feed.size > 1000) state.feed.delete(state.feed.keys().next().value);
    state.seq = Math.max(state.seq, data.seq);
    renderFeed();
    scheduleRefresh(400);
  });
  source.addEventListener("state", () => scheduleRefresh(150));
  source.addEventListener("reload", () => { state.feed = new Map(); state.seq = 0; scheduleRefresh(0); });
}

function setLive(on) {
  const node = $("live");
  node.className = "live " + (on ? "on" : "off");
  node.textContent = on ? "live" : "reconnecting…";
}

function showProblem(error) {
  const node = $("problem");
  node.hidden = false;
  node.textContent = String(error && error.message ? error.message : error);
}

// -- sessions --------------------------------------------------------------------------------

function mergedSessions(data) {
  const byId = new Map();
  const get = (id) => {
    if (!byId.has(id)) byId.set(id, { session_id: id, agents: [] });
    return byId.get(id);
  };
  for (const s of data.log_sessions) Object.assign(get(s.session_id), s);
  for (const s of data.state_sessions) {
    const row = get(s.session_id);
    row.status = s.status;
    row.idle_seconds = s.idle_seconds;
    row.model = row.model || s.model;
  }
  const usage = (data.usage && data.usage.sessions) || {};
  for (const [id, u] of Object.entries(usage)) get(id).usage = u;
  const rows = [...byId.values()];
  for (const row of rows) {
    if (!row.status) row.status = row.ended ? "ended" : "active";
    if (row.ended && row.status !== "ended") row.status = "ended";
  }
  rows.sort((a, b) => String(b.last_ts || "").localeCompare(String(a.last_ts || "")));
  return rows;
}

function renderSessions(data, sessions) {
  const body = $("sessions").tBodies[0];
  body.replaceChildren();
  for (const s of sessions) {
    const u = s.usage || {};
    const tokens = typeof u.total_tokens === "number" ? u.total_tokens : null;
    const models = u.models ? Object.keys(u.models).join(", ") : null;
    const costCell = el("td", { class: "num cost", title: u.unpriced_models && u.unpriced_models.length ? "no price for " + u.unpriced_models.join(", ") : null }, fmtCost(u.cost_usd));
    const trace = el("button", { class: "link", type: "button" }, "trace");
    trace.addEventListener("click", () => showTrace(s.session_id));
    const prompts = (s.recent_prompts || []).join("\n");
    body.append(
      el("tr", { "data-session": s.session_id, class: state.traceSession === s.session_id ? "selected" : "" },
        el("td", { class: "mono", title: s.session_id + (prompts ? "\n\nrecent prompts:\n" + prompts : "") }, short(s.session_id),
          (s.recent_prompts || []).length ? el("span", { class: "by prompt" }, "“" + s.recent_prompts[s.recent_prompts.length - 1] + "”") : null),
        el("td", {}, tag(s.status)),
        el("td", { class: "mono" }, models || s.model || "-"),
        el("td", {}, s.last_ts ? fmtTime(s.last_ts) : "-", typeof s.idle_seconds === "number" ? el("span", { class: "muted" }, " (" + fmtAgo(s.idle_seconds) + " ago)") : null),
        el("td", { class: "num" }, fmtInt(s.prompts || 0)),
        el("td", { class: "num" }, fmtInt(s.tool_calls || 0)),
        el("td", { class: "num" }, fmtInt(s.failures || 0)),
        el("td", { class: "num" }, fmtInt(s.denials || 0)),
        el("td", { class: "num", title: u.input_tokens !== undefined ? `in ${fmtInt(u.input_tokens)}, out ${fmtInt(u.output_tokens)}, cache write ${fmtInt((u.cache_write_5m_tokens || 0) + (u.cache_write_1h_tokens || 0))}, cache read ${fmtInt(u.cache_read_tokens)}` : null }, tokens === null ? "-" : fmtInt(tokens)),
        costCell,
        el("td", {}, trace)));
    for (const a of s.agents || []) {
      body.append(
        el("tr", { class: "sub", "data-agent": a.agent_id },
          el("td", { class: "mono", title: a.agent_id }, (a.agent_type || "subagent") + " " + short(a.agent_id)),
          el("td", {}, ""), el("td", {}, ""), el("td", {}, ""), el("td", {}, ""),
          el("td", { class: "num" }, fmtInt(a.tool_calls)),
          el("td", { class: "num" }, fmtInt(a.failures)),
          el("td", { class: "num" }, fmtInt(a.denials)),
          el("td", {}, ""), el("td", {}, ""), el("td", {}, "")));
    }
  }
  $("sessions-empty").hidden = sessions.length > 0;
}

// -- breakers and rate limits ----------------------------------------------------------------

function retryText(b) {
  if (b.state !== "open") return "-";
  if (typeof b.retry_after !== "number") return "until reset";
  return b.retry_after <= 0 ? "now" : "in " + fmtAgo(b.retry_after);
}

function renderBreakers(data) {
  const body = $("breakers").tBodies[0];
  body.replaceChildren();
  const breakers = [...data.breakers].sort((a, b) => (a.state === "closed") - (b.state === "closed") || String(a.name).localeCompare(String(b.name)));
  for (const b of breakers) {
    const reset = el("button", { class: "danger", type: "button" }, "Reset");
    reset.addEventListener("click", () => confirmReset(b.name));
    const label = b.forced ? b.forced + " (forced)" : b.state;
    const extra = [b.scope ? "scope " + b.scope : null, b.session_id ? "session " + short(b.session_id) : null].filter(Boolean).join(", ");
    body.append(
      el("tr", { "data-breaker": b.name },
        el("td", { class: "mono" }, b.name, extra ? el("span", { class: "by" }, extra) : null),
        el("td", {}, tag(label, b.forced || b.state)),
        el("td", { class: "num" }, fmtInt(b.consecutive_failures ?? b.streak)),
        el("td", {}, retryText(b)),
        el("td", { class: "reason" }, b.last_error || "-"),
        el("td", {}, reset)));
  }
  $("breakers-empty").hidden = breakers.length > 0;
  const limits = $("ratelimits").tBodies[0];
  limits.replaceChildren();
  for (const w of data.rate_limits) {
    limits.append(
      el("tr", {},
        el("td", { class: "mono" }, w.key),
        el("td", { class: "num" }, fmtInt(w.used)),
        el("td", { class: "num" }, fmtInt(w.limit)),
        el("td", { class: "num" }, w.window_seconds + " s"),
        el("td", {}, typeof w.retry_after === "number" && w.retry_after > 0 ? "in " + fmtAgo(w.retry_after) : "-")));
  }
  $("ratelimits-empty").hidden = data.rate_limits.length > 0;
}

function confirmReset(name) {
  const dialog = $("confirm");
  $("confirm-text").textContent = `Reset the circuit breaker “${name}”? Claude may call the tool again right away.`;
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    const response = await fetch("/api/breakers/reset", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Dashboard": "1" },
      body: JSON.stringify({ name }),
    });
    if (!response.ok) showProblem("reset " + name + ": HTTP " + response.status);
    scheduleRefresh(0);
  };
  dialog.showModal();
}

// -- feed ------------------------------------------------------------------------------------

function fillSelect(select, values, label) {
  const current = select.value;
  const wanted = ["", ...values];
  const have = [...select.options].map((o) => o.value);
  if (wanted.length === have.length && wanted.every((v, i) => v === have[i])) return;
  select.replaceChildren(el("option", { value: "" }, "all"), ...values.map((v) => el("option", { value: v }, label ? label(v) : v)));
  select.value = values.includes(current) ? current : "";
}

function renderFeed() {
  const rows = [...state.feed.values()];
  fillSelect($("filter-session"), [...new Set(rows.map((r) => r.session_id).filter(Boolean))].sort(), short);
  fillSelect($("filter-tool"), [...new Set(rows.map((r) => r.tool))].sort());
  const fs = $("filter-session").value, ft = $("filter-tool").value, fd = $("filter-decision").value;
  const shown = rows.filter((r) => (!fs || r.session_id === fs) && (!ft || r.tool === ft) && (!fd || r.decision === fd)).reverse().slice(0, 300);
  const body = $("feed").tBodies[0];
  body.replaceChildren();
  for (const r of shown) {
    const result = r.result ? tag(r.result) : r.decision === "allowed" ? tag("running", "pending") : el("span", { class: "muted" }, "-");
    body.append(
      el("tr", { "data-call": r.id, "data-decision": r.decision },
        el("td", { class: "mono", title: r.ts || "" }, fmtTime(r.ts)),
        el("td", { class: "mono", title: r.session_id || "" }, short(r.session_id), r.agent_id ? el("span", { class: "by" }, "subagent " + short(r.agent_id)) : null),
        el("td", {}, r.tool),
        el("td", { class: "input mono" }, r.input || ""),
        el("td", {}, tag(r.decision), r.by && r.by.length ? el("span", { class: "by" }, "by " + r.by.join(", ")) : null),
        el("td", { class: "reason" }, r.reason || r.error || ""),
        el("td", { class: "num", title: r.hook_ms != null ? "PreToolUse hook " + fmtMs(r.hook_ms) : "" }, fmtMs(r.duration_ms)),
        el("td", {}, result)));
  }
  $("feed-empty").hidden = shown.length > 0;
  $("feed-count").textContent = `(${shown.length} of ${rows.length} shown, newest first)`;
}

// -- plots -----------------------------------------------------------------------------------

function axes(box, w, h, pad, maxY, unit) {
  box.append(svg("line", { x1: pad.l, y1: h - pad.b, x2: w - pad.r, y2: h - pad.b, class: "axis" }));
  box.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: h - pad.b, class: "axis" }));
  box.append(svg("text", { x: pad.l - 6, y: pad.t + 8, "text-anchor": "end" }, unit(maxY)));
  box.append(svg("text", { x: pad.l - 6, y: h - pad.b, "text-anchor": "end" }, unit(0)));
}

function legend(items) {
  return el("div", { class: "legend" }, ...items.map(([cls, text]) => el("span", { class: cls }, text)));
}

function timeLabels(box, points, x, h, pad) {
  if (!points.length) return;
  const picks = points.length === 1 ? [0] : [0, Math.floor((points.length - 1) / 2), points.length - 1];
  for (const i of [...new Set(picks)]) {
    const anchor = points.length > 1 && i === points.length - 1 ? "end" : i === 0 && points.length > 1 ? "start" : "middle";
    box.append(svg("text", { x: x(i), y: h - pad.b + 14, "text-anchor": anchor }, points[i].t.slice(11, 16)));
  }
}

function plotCalls(timeline) {
  const host = $("plot-calls");
  host.replaceChildren();
  const points = timeline.points;
  if (!points.length) { host.append(el("p", { class: "empty" }, "No tool calls yet.")); return; }
  const w = 560, h = 170, pad = { l: 40, r: 8, t: 8, b: 22 };
  const box = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "tool calls and denials over time" });
  const maxY = Math.max(1, ...points.map((p) => p.calls));
  const band = (w - pad.l - pad.r) / points.length;
  const y = (v) => h - pad.b - (v / maxY) * (h - pad.t - pad.b);
  axes(box, w, h, pad, maxY, (v) => String(v));
  points.forEach((p, i) => {
    const x0 = pad.l + i * band + band * 0.1, bw = Math.max(1, band * 0.8);
    const tip = `${p.t}: ${p.calls} calls, ${p.denials} denied, ${p.failures} failed`;
    const bar = svg("rect", { x: x0, y: y(p.calls), width: bw, height: h - pad.b - y(p.calls), class: "calls" });
    bar.append(svg("title", {}, tip));
    box.append(bar);
    if (p.denials) {
      const d = svg("rect", { x: x0, y: y(p.denials), width: bw, height: h - pad.b - y(p.denials), class: "denials" });
      d.append(svg("title", {}, tip));
      box.append(d);
    }
  });
  timeLabels(box, points, (i) => pad.l + (i + 0.5) * band, h, pad);
  host.append(legend([["l-calls", "tool calls"], ["l-denials", "denied"]]), box);
  host.append(el("div", { class: "muted" }, `per ${timeline.bucket_minutes} min, UTC`));
}

function plotLatency(timeline) {
  const host = $("plot-latency");
  host.replaceChildren();
  const points = timeline.points.filter((p) => p.hooks > 0);
  if (!points.length) { host.append(el("p", { class: "empty" }, "No hook runs yet.")); return; }
  const w = 560, h = 170, pad = { l: 52, r: 8, t: 8, b: 22 };
  const box = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "hook latency p50 and p95" });
  const maxY = Math.max(1, ...points.map((p) => p.p95_ms));
  const x = (i) => (points.length === 1 ? (pad.l + w - pad.r) / 2 : pad.l + (i / (points.length - 1)) * (w - pad.l - pad.r));
  const y = (v) => h - pad.b - (v / maxY) * (h - pad.t - pad.b);
  axes(box, w, h, pad, maxY, (v) => fmtMs(v));
  for (const key of ["p95_ms", "p50_ms"]) {
    const d = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
    box.append(svg("path", { d, class: key.slice(0, 3) }));
    points.forEach((p, i) => {
      const dot = svg("circle", { cx: x(i), cy: y(p[key]), r: 2.5, class: key.slice(0, 3) });
      dot.append(svg("title", {}, `${p.t}: p50 ${fmtMs(p.p50_ms)}, p95 ${fmtMs(p.p95_ms)} (${p.hooks} hook runs)`));
      box.append(dot);
    });
  }
  timeLabels(box, points, x, h, pad);
  host.append(legend([["l-p50", "p50"], ["l-p95", "p95"]]), box);
}

function plotCost(sessions) {
  const host = $("plot-cost");
  host.replaceChildren();
  const rows = sessions.filter((s) => s.usage && typeof s.usage.cost_usd === "number").slice(0, 12);
  if (!rows.length) { host.append(el("p", { class: "empty" }, "No cost yet: it is read from each session's transcript at Stop.")); return; }
  const w = 560, rowH = 20, pad = { l: 80, r: 70 }, h = rows.length * rowH + 6;
  const box = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "cost per session" });
  const maxC = Math.max(...rows.map((s) => s.usage.cost_usd), 1e-9);
  rows.forEach((s, i) => {
    const y0 = i * rowH + 3;
    const bw = Math.max(1, (s.usage.cost_usd / maxC) * (w - pad.l - pad.r));
    box.append(svg("text", { x: pad.l - 6, y: y0 + 12, "text-anchor": "end", class: "mono" }, short(s.session_id)));
    const bar = svg("rect", { x: pad.l, y: y0, width: bw, height: rowH - 6, class: "cost" });
    bar.append(svg("title", {}, `${s.session_id}: ${fmtCost(s.usage.cost_usd)}, ${fmtInt(s.usage.total_tokens)} tokens`));
    box.append(bar);
    box.append(svg("text", { x: pad.l + bw + 6, y: y0 + 12 }, fmtCost(s.usage.cost_usd)));
  });
  host.append(box);
}

// -- trace -----------------------------------------------------------------------------------

async function showTrace(sessionId) {
  state.traceSession = sessionId;
  const select = $("trace-session");
  if (![...select.options].some((o) => o.value === sessionId)) select.append(el("option", { value: sessionId }, short(sessionId)));
  select.value = sessionId;
  for (const tr of $("sessions").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.session === sessionId);
  const host = $("trace");
  if (!sessionId) { host.replaceChildren(); $("trace-total").textContent = ""; return; }
  const response = await fetch("/api/trace?session=" + encodeURIComponent(sessionId), { credentials: "same-origin" });
  const data = await response.json();
  host.replaceChildren();
  $("trace-total").textContent = data.spans.length ? `${data.spans.length} spans, ${fmtMs(data.total_ms)}${data.truncated ? " (first spans only)" : ""}` : "";
  if (!data.spans.length) { host.append(el("p", { class: "empty" }, "No spans recorded for this session.")); return; }
  const total = Math.max(data.total_ms, 0.001);
  for (const span of data.spans) {
    const left = (span.offset_ms / total) * 100;
    const width = span.duration_ms == null ? 100 - left : (span.duration_ms / total) * 100;
    const bar = el("div", { class: "bar" + (span.status === "error" ? " error" : "") + (span.open ? " open" : ""), title: `${span.name}: ${span.open ? "still open" : fmtMs(span.duration_ms)}${span.status_message ? " — " + span.status_message : ""}` });
    bar.style.left = left.toFixed(3) + "%";
    bar.style.width = Math.max(width, 0.15).toFixed(3) + "%";
    const name = el("div", { class: "name", title: span.name + (span.status_message ? "\n" + span.status_message : "") }, span.name);
    name.style.paddingLeft = (span.depth * 14) + "px";
    host.append(el("div", { class: "row" }, name, el("div", { class: "lane" }, bar), el("div", { class: "dur" }, span.open ? "open" : fmtMs(span.duration_ms))));
  }
}

// -- the whole page --------------------------------------------------------------------------

function render() {
  const data = state.snapshot;
  if (!data) return;
  $("project").textContent = data.project;
  const hint = $("hint");
  const hintText = data.loading ? `Reading the logs… ${fmtInt(data.records)} hook runs so far.` : data.hint;
  hint.hidden = !hintText;
  hint.textContent = hintText || "";
  const problems = [];
  if (data.error) problems.push("Reading the logs failed: " + data.error);
  const skipped = Object.entries(data.skipped || {}).filter(([, n]) => n > 0);
  if (skipped.length) problems.push("Skipped torn or corrupt lines: " + skipped.map(([k, n]) => `${k} ${n}`).join(", "));
  const problem = $("problem");
  problem.hidden = problems.length === 0;
  problem.textContent = problems.join(" · ");
  const sessions = mergedSessions(data);
  const sum = (key) => sessions.reduce((n, s) => n + (s[key] || 0), 0);
  $("total-sessions").textContent = fmtInt(sessions.length);
  $("total-calls").textContent = fmtInt(sum("tool_calls"));
  $("total-denials").textContent = fmtInt(sum("denials"));
  $("total-failures").textContent = fmtInt(sum("failures"));
  const total = (data.usage && data.usage.total) || {};
  $("total-tokens").textContent = fmtInt(total.total_tokens || 0);
  $("total-cost").textContent = fmtCost(total.cost_usd);
  renderSessions(data, sessions);
  renderBreakers(data);
  renderFeed();
  plotCalls(data.timeline);
  plotLatency(data.timeline);
  plotCost(sessions);
  fillSelect($("trace-session"), sessions.map((s) => s.session_id), short);
  $("trace-session").value = state.traceSession;
  $("footer").textContent = `${fmtInt(data.records)} hook runs, ${fmtInt(data.events)} events read from ${data.log_dir}` +
    (typeof data.load_seconds === "number" ? ` (first read ${fmtMs(data.load_seconds * 1000)})` : "") +
    ` · prices of ${data.usage ? data.usage.prices_taken : "-"}`;
  document.body.dataset.rendered = "1";
  if (data.loading) delete document.body.dataset.ready;
  else document.body.dataset.ready = "1";
}

function start() {
  if (location.search.includes("token=")) history.replaceState(null, "", "/");
  for (const id of ["filter-session", "filter-tool", "filter-decision"]) $(id).addEventListener("change", renderFeed);
  $("trace-session").addEventListener("change", (e) => showTrace(e.target.value).catch(showProblem));
  loadSnapshot().then(connect).catch((e) => { showProblem(e); setTimeout(start, 2000); });
}

document.addEventListener("DOMContentLoaded", start);
