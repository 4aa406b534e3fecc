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

function render(data) {
  const body = document.querySelector("#queues tbody");
  body.replaceChildren();
  let waiting = 0;
  let early = 0;
  for (const q of data.queues) {
    waiting += q.waiting;
    early += q.early_released_today;
    const row = document.createElement("tr");
    row.dataset.queue = q.queue;
    if (q.early_release_over_target || q.service_level_under_target) row.className = "alert";
    cell(row, q.name, "name", q.queue);
    cell(row, String(q.waiting), "num waiting");
    cell(row, duration(q.longest_wait), "num longest");
    cell(row, percent(q.early_release_rate_today), "num early-rate " + (q.early_release_over_target ? "bad" : ""),
      q.early_released_today + " / " + q.offered_today);
    cell(row, percent(q.early_release_rate_1h), "early-rate-1h");
    cell(row, percent(q.service_level_today), "num service-level " + (q.service_level_under_target ? "bad" : ""));
    cell(row, q.members_available + " / " + q.members_logged_in, "members");
    cell(row, "", "spark").appendChild(sparkline(q.spark_offered, q.spark_early_released));
    body.appendChild(row);
  }
  document.getElementById("total-waiting").textContent = String(waiting);
  document.getElementById("total-early").textContent = String(early);
  document.getElementById("callbacks").textContent = String(data.callbacks_pending);
  document.getElementById("updated").textContent = data.generated_at.slice(11, 19);
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

poll();
