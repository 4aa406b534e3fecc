// Polls the wallboard figures every second and redraws the table. Figures come from
// /api/wallboard with the monitor token given as ?token= in the page address, or from
// /wallboard/data when the bridge's config opens the wallboard (no token in the address).
"use strict";

const POLL_MS = 1000;
const SVG_NS = "http://www.w3.org/2000/svg";
const token = new URLSearchParams(window.location.search).get("token");
const source = token ? "/api/wallboard" : "/wallboard/data";

function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : (ratio * 100).toFixed(1) + "%";
}

function duration(seconds) {
  const s = Math.round(seconds);
  return s < 60 ? s + "秒" : Math.floor(s / 60) + "分" + String(s % 60).padStart(2, "0") + "秒";
}

function cell(row, text, classes, sub) {
  const td = document.createElement("td");
  td.textContent = text;
  if (classes) td.className = classes;
  if (sub) {
    const small = document.createElement("span");
    small.className = "sub";
    small.textContent = sub;
    td.appendChild(small);
  }
  row.appendChild(td);
  return td;
}

function polyline(values, top, cls) {
  const line = document.createElementNS(SVG_NS, "polyline");
  const step = 100 / Math.max(values.length - 1, 1);
  line.setAttribute("points", values.map((v, i) => (i * step).toFixed(1) + "," + (20 - (v / top) * 18).toFixed(1)).join(" "));
  line.setAttribute("class", cls);
  return line;
}

function sparkline(offered, early) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 100 20");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "spark");
  const top = Math.max(1, ...offered, ...early);
  svg.appendChild(polyline(offered, top, "offered"));
  // A red line only when there was an early release: a quiet queue stays grey.
  if (early.some((v) => v > 0)) svg.appendChild(polyline(early, top, "early"));
  return svg;
}

const FIGURE_COLUMNS = 7;  // the table's columns after the name: figureCells fills them

// The figures of one queue, in the table's columns (also an aid queue's, in its sub-row).
function figureCells(row, q) {
  if (q.early_release_over_target || q.service_level_under_target) row.classList.add("alert");
  cell(row, String(q.waiting), "num waiting");
  cell(row, duration(q.longest_wait), "num longest");
  cell(row, percent(q.early_release_rate_today), "num early-rate " + (q.early_release_over_target ? "bad" : ""),
    q.early_released_today + " / " + q.offered_today);
  cell(row, percent(q.early_release_rate_1h), "early-rate-1h");
  cell(row, percent(q.service_level_today), "num service-level " + (q.service_level_under_target ? "bad" : ""));
  cell(row, q.members_available + " / " + q.members_logged_in, "members");
  cell(row, "", "spark").appendChild(sparkline(q.spark_offered, q.spark_early_released));
}

function queueRow(q) {
  const row = document.createElement("tr");
  row.dataset.queue = q.queue;
  cell(row, q.name, "name", q.queue);
  figureCells(row, q);
  return row;
}

function render(data) {
  const body = document.querySelector("#queues tbody");
  body.replaceChildren(...boardRows(data.queues, data.overflow));
  let waiting = 0;
  let early = 0;
  for (const q of data.queues) {
    waiting += q.waiting;
    early += q.early_released_today;
  }
  document.getElementById("total-waiting").textContent = String(waiting);
  document.getElementById("total-early").textContent = String(early);
  document.getElementById("callbacks").textContent = String(data.callbacks_pending);
  document.getElementById("updated").textContent = data.generated_at.slice(11, 19);
  renderOverflow(data.overflow);
  fitScreen();
}

// A wall screen is never scrolled: when the board is taller than the screen (sub-rows of a
// wide surge), the tighter "dense" layout is used. Both layouts are laid out in one task, so
// the screen never shows the wrong one.
function fitScreen() {
  document.body.classList.remove("dense");
  if (document.scrollingElement.scrollHeight > window.innerHeight) document.body.classList.add("dense");
}

// One row per queue, except that an aid queue is folded into a thin sub-row under its
// centre's row (with the centre's lenders): every county supported at once would otherwise
// double the rows and push the board off the screen.
function boardRows(queues, overflow) {
  if (!overflow) return queues.map(queueRow);
  const aidOf = new Map(Object.entries(overflow.aid_queues).map(([aid, centre]) => [centre, aid]));
  const byQueue = new Map(queues.map((q) => [q.queue, q]));
  const supported = new Map(overflow.supported.map((s) => [s.centre, s]));
  const folded = new Set();
  for (const q of queues) {
    const centre = overflow.queues[q.queue];
    if (centre && !(q.queue in overflow.aid_queues)) folded.add(aidOf.get(centre));
  }
  const rows = [];
  for (const q of queues) {
    if (folded.has(q.queue)) continue;
    const row = queueRow(q);
    rows.push(row);
    const centre = overflow.queues[q.queue];
    if (!centre || q.queue in overflow.aid_queues) continue;
    const support = supported.get(centre);
    if (support) markSupported(row);
    const aid = byQueue.get(aidOf.get(centre));
    if (support || (aid && (aid.waiting > 0 || aid.offered_today > 0))) {
      rows.push(aidRow(aidOf.get(centre), centre, aid, support));
    }
  }
  return rows;
}

function markSupported(row) {
  const name = row.querySelector("td.name");
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.textContent = "支援中";
  name.insertBefore(badge, name.firstChild.nextSibling);
  row.classList.add("supported");
}

const LENDERS_SHOWN = 2;  // a sub-row has room for two names; the rest are counted

function lendersText(lenders) {
  if (!lenders.length) return "等待借调";
  const named = lenders.slice(0, LENDERS_SHOWN).map((l) => l.name + " " + l.seats + "席");
  const rest = lenders.slice(LENDERS_SHOWN);
  if (rest.length) named.push("另" + rest.length + "处 " + rest.reduce((n, l) => n + l.seats, 0) + "席");
  return "借入 " + named.join(" · ");
}

// The aid queue's figures under its centre, and who lends the centre how many seats.
function aidRow(queue, centre, aid, support) {
  const row = document.createElement("tr");
  row.className = "aid";
  row.dataset.queue = queue;
  row.dataset.centre = centre;
  const name = cell(row, "↳ 互助", "name");
  if (support) {
    const lenders = document.createElement("span");
    lenders.className = "lenders";
    lenders.textContent = lendersText(support.lenders);
    name.appendChild(lenders);
  }
  if (aid) figureCells(row, aid);
  else for (let n = 0; n < FIGURE_COLUMNS; n++) cell(row, "", "");
  return row;
}

function renderActions(overflow) {
  const list = document.getElementById("overflow-actions");
  list.replaceChildren();
  for (const a of overflow.actions) {
    const item = document.createElement("li");
    item.dataset.kind = a.kind;
    if (a.failed) item.className = "failed";
    for (const [cls, text] of [["time", a.time], ["centre", a.name], ["action", a.action], ["reason", a.reason]]) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      item.appendChild(span);
    }
    list.appendChild(item);
  }
  if (!overflow.actions.length) {
    const item = document.createElement("li");
    item.className = "none";
    item.textContent = "暂无支援动作";
    list.appendChild(item);
  }
  document.getElementById("overflow-error").textContent =
    overflow.actions_error ? "支援记录暂不可用: " + overflow.actions_error : "";
}

function renderOverflow(overflow) {
  const section = document.getElementById("overflow");
  section.hidden = !overflow;  // no overflow controller installed: nothing shown
  if (overflow) renderActions(overflow);
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const response = await fetch(source, token ? { headers: { Authorization: "Bearer " + token } } : {});
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json());
    status.textContent = "";
  } catch (error) {
    status.textContent = "数据暂不可用: " + error.message;
  } finally {
    window.setTimeout(poll, POLL_MS);
  }
}

window.addEventListener("resize", fitScreen);
poll();
