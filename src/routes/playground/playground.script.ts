// The playground's inline browser script (plain JS, no framework): sign in, upload, stream an analysis over SSE, draw its charts as SVG.
// String.raw keeps the script's own escapes ("\n") intact; it must contain no backtick, no "${" and no closing script tag.

/** A small dataset the statistical engine finds a trend, a correlation, categories and a skewed column in. */
const sampleCsv = [
  "date,region,channel,units,unit_price,revenue,discount_pct",
  "2023-01-01,North,Online,55,23.52,1293.6,0.7", "2023-02-01,South,Online,48,22.38,1074.24,4.5",
  "2023-03-01,East,Online,54,22.51,1215.54,12.9", "2023-04-01,West,Online,63,22.11,1392.93,7.7",
  "2023-05-01,North,Online,82,22.46,1841.72,0.1", "2023-06-01,South,Online,64,19.93,1275.52,0.4",
  "2023-07-01,East,Online,82,20.15,1652.3,0", "2023-08-01,West,Retail,73,19.38,1414.74,0.9",
  "2023-09-01,North,Partner,87,22.63,1968.81,0.3", "2023-10-01,South,Online,88,21.57,1898.16,1.4",
  "2023-11-01,East,Online,72,21.16,1523.52,21.4", "2023-12-01,West,Online,88,18.85,1658.8,3.2",
  "2024-01-01,North,Online,102,23.6,2407.2,0.2", "2024-02-01,South,Online,94,19.64,1846.16,5.6",
  "2024-03-01,East,Online,96,20.09,1928.64,0", "2024-04-01,West,Online,94,21.8,2049.2,0.3",
  "2024-05-01,North,Online,114,19.53,2226.42,0.1", "2024-06-01,South,Online,95,22.46,2133.7,0.5",
  "2024-07-01,East,Online,107,21.01,2248.07,9.8", "2024-08-01,West,Retail,115,19.87,2285.05,0.2",
  "2024-09-01,North,Partner,131,18.25,2390.75,16.5", "2024-10-01,South,Online,115,22.62,2601.3,0",
  "2024-11-01,East,Online,113,20.03,2263.39,1.3", "2024-12-01,West,Online,117,22.9,2679.3,0.6",
  "2025-01-01,North,Online,150,22.77,3415.5,0.1", "2025-02-01,South,Online,138,19.58,2702.04,2.2",
  "2025-03-01,East,Online,126,19.28,2429.28,4.1", "2025-04-01,West,Online,137,19.3,2644.1,0.1",
  "2025-05-01,North,Online,149,21.57,3213.93,0.3", "2025-06-01,South,Online,142,23.19,3292.98,26.8",
  "2025-07-01,East,Online,142,19.85,2818.7,0.4", "2025-08-01,West,Retail,143,21.9,3131.7,0.1",
  "2025-09-01,North,Partner,172,20.42,3512.24,5.3", "2025-10-01,South,Online,150,20.89,3133.5,0.5",
  "2025-11-01,East,Online,146,22.72,3317.12,0", "2025-12-01,West,Online,158,18.34,2897.72,1.9",
].join("\n");

export const playgroundScript = String.raw`
"use strict";
const SAMPLE_CSV = ` + JSON.stringify(sampleCsv) + String.raw`;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const state = { token: null, refreshToken: null, email: null, projectId: null, datasetId: null, rows: null };

// ---- HTTP: every failure is a problem document (RFC 9457); its detail is what people read.

class ProblemError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "Request failed");
    this.problem = problem;
  }
}

async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {}
  }
  return { title: response.statusText || "Request failed", status: response.status, detail: "The server answered " + response.status + "." };
}

async function refreshTokens() {
  const response = await fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refreshToken: state.refreshToken }),
  });
  if (!response.ok) return false;
  keepTokens(await response.json());
  return true;
}

/** Calls the API with the access token; an expired token is refreshed once. Throws a ProblemError for any 4xx/5xx. */
async function api(path, init = {}, retried = false) {
  const headers = new Headers(init.headers || {});
  if (state.token) headers.set("authorization", "Bearer " + state.token);
  const response = await fetch("/api/v1" + path, Object.assign({}, init, { headers }));
  if (response.status === 401 && !retried && state.refreshToken && (await refreshTokens())) return api(path, init, true);
  if (!response.ok) throw new ProblemError(await problemOf(response));
  return response;
}

const json = (body) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

// ---- Messages

function showError(error) {
  const problem = error instanceof ProblemError ? error.problem : { title: "Something went wrong", detail: String(error && error.message ? error.message : error) };
  const box = $("error");
  box.replaceChildren();
  const title = document.createElement("strong");
  title.textContent = (problem.title || "Error") + (problem.status ? " (" + problem.status + ")" : "");
  const detail = document.createElement("p");
  detail.textContent = problem.detail || "";
  box.append(title, detail);
  if (Array.isArray(problem.errors) && problem.errors.length) {
    const list = document.createElement("ul");
    for (const item of problem.errors) {
      const li = document.createElement("li");
      li.textContent = item.path + ": " + item.message;
      list.append(li);
    }
    box.append(list);
  }
  if (problem.code || problem.requestId) {
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = [problem.code, problem.requestId && "request " + problem.requestId].filter(Boolean).join(" · ");
    box.append(meta);
  }
  box.hidden = false;
  setStatus("Stopped: " + (problem.detail || problem.title || "error"));
}

function clearError() {
  $("error").hidden = true;
  $("error").replaceChildren();
}

function setStatus(text) {
  $("status").textContent = text;
}

// ---- Sign up / sign in

function keepTokens(tokens) {
  state.token = tokens.accessToken;
  state.refreshToken = tokens.refreshToken;
}

async function signIn(email, password) {
  const response = await api("/auth/signin", json({ email, password }));
  keepTokens(await response.json());
  state.email = email;
  $("auth-status").textContent = "Signed in as " + email + ".";
  $("data-section").disabled = false;
  $("signout").hidden = false;
}

$("auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  const signUp = event.submitter && event.submitter.value === "signup";
  const email = $("email").value.trim();
  const password = $("password").value;
  const buttons = $("auth-form").querySelectorAll("button");
  buttons.forEach((button) => (button.disabled = true));
  try {
    if (signUp) {
      $("auth-status").textContent = "Creating the account…";
      // Always 202, whether or not the address was new: sign-in says whether the password fits.
      await api("/auth/signup", json({ email, password }));
    }
    $("auth-status").textContent = "Signing in…";
    await signIn(email, password);
  } catch (error) {
    $("auth-status").textContent = "Not signed in.";
    showError(error);
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
});

$("signout").addEventListener("click", async () => {
  try {
    await api("/auth/signout", json({ refreshToken: state.refreshToken }));
  } catch {}
  Object.assign(state, { token: null, refreshToken: null, email: null, projectId: null, datasetId: null, rows: null });
  $("data-section").disabled = true;
  $("signout").hidden = true;
  $("auth-status").textContent = "Signed out.";
});

// ---- Upload, session, analysis

function contentTypeOf(name) {
  if (/\.ndjson$|\.jsonl$/i.test(name)) return "application/x-ndjson";
  if (/\.json$/i.test(name)) return "application/json";
  return "text/csv";
}

function resetResults() {
  clearError();
  $("insights").replaceChildren();
  $("charts").replaceChildren();
  $("done").hidden = true;
  $("done").replaceChildren();
  state.rows = null;
}

async function analyse(body, name) {
  resetResults();
  $("data-section").disabled = true;
  try {
    if (!state.projectId) {
      setStatus("Creating a project…");
      const project = await (await api("/projects", json({ name: "Playground", description: "Made by the playground page" }))).json();
      state.projectId = project.id;
    }
    setStatus("Uploading " + name + " (" + Math.max(1, Math.round(body.size / 1024)) + " KB)…");
    const upload = await api("/projects/" + state.projectId + "/datasets?name=" + encodeURIComponent(name), {
      method: "POST",
      headers: { "content-type": contentTypeOf(name) },
      body,
    });
    const dataset = await upload.json();
    state.datasetId = dataset.id;
    setStatus("Profiled " + dataset.rowCount + " rows × " + dataset.columnCount + " columns. Opening a session…");
    const session = await (await api("/sessions", json({ datasetId: dataset.id, title: name }))).json();
    setStatus("Analysing…");
    const question = $("question").value.trim();
    const response = await api("/sessions/" + session.id + "/analyses", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(question ? { question } : {}),
    });
    if (response.status === 202) await followQueued(await response.json());
    else await readEvents(response, onEvent);
  } catch (error) {
    showError(error);
  } finally {
    $("data-section").disabled = !state.token;
  }
}

/** A large dataset is analysed by a queue job: poll it, then show the saved result. */
async function followQueued(analysis) {
  setStatus("Queued (a large dataset): waiting for the job…");
  for (let i = 0; i < 300 && (analysis.status === "queued" || analysis.status === "running"); i++) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    analysis = await (await api("/analyses/" + analysis.id)).json();
  }
  if (analysis.status !== "succeeded") throw new ProblemError(analysis.error || { title: "Analysis unfinished", detail: "The job is still " + analysis.status + "." });
  analysis.insights.forEach(addInsight);
  for (const chart of analysis.charts) await addChart(chart);
  finish({ analysisId: analysis.id, summary: analysis.summary, insights: analysis.insights.length, charts: analysis.charts.length }, analysis.engine);
}

/** Reads server-sent events from a fetch response (EventSource cannot POST or send Authorization). */
async function readEvents(response, handle) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let finished = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      let type = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line === "" || line.startsWith(":")) continue; // comments are heartbeats
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = text;
        else if (field === "data") data.push(text);
      }
      if (data.length === 0) continue;
      if (await handle(type, JSON.parse(data.join("\n")))) finished = true;
    }
  }
  if (!finished) throw new ProblemError({ title: "Stream ended", detail: "The connection closed before the analysis finished." });
}

let engine = "";

/** One SSE event; true when it ends the analysis. */
async function onEvent(type, data) {
  switch (type) {
    case "status":
      if (data.status === "repairing") {
        // The model's first answer failed validation: what it showed is discarded.
        $("insights").replaceChildren();
        $("charts").replaceChildren();
        setStatus("The model's answer was invalid; asking once more…");
      } else {
        engine = data.engine || "";
        setStatus("Running (" + engine + (data.model ? ", " + data.model : "") + " engine)…");
      }
      return false;
    case "insight":
      addInsight(data);
      return false;
    case "chart":
      await addChart(data);
      return false;
    case "done":
      finish(data, engine);
      return true;
    case "problem":
      throw new ProblemError(data);
    default:
      return false;
  }
}

function addInsight(insight) {
  const li = document.createElement("li");
  li.dataset.testid = "insight";
  li.className = "insight importance-" + (insight.importance || "medium");
  const head = document.createElement("h3");
  head.textContent = insight.title;
  const tag = document.createElement("span");
  tag.className = "tag";
  tag.textContent = insight.kind + " · " + (insight.importance || "medium");
  const detail = document.createElement("p");
  detail.textContent = insight.detail;
  li.append(head, tag, detail);
  $("insights").append(li);
  setStatus("Insights: " + $("insights").children.length + ", charts: " + $("charts").children.length + "…");
}

function finish(done, engineName) {
  const box = $("done");
  const head = document.createElement("strong");
  head.textContent = "Analysis complete: " + done.insights + " insights, " + done.charts + " charts" + (engineName ? " (" + engineName + " engine)" : "") + ".";
  const summary = document.createElement("p");
  summary.textContent = done.summary || "";
  box.append(head, summary);
  box.hidden = false;
  setStatus("Done.");
}

$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) {
    showError(new ProblemError({ title: "No file", detail: "Choose a CSV, JSON or NDJSON file first, or use the sample data." }));
    return;
  }
  void analyse(file, file.name);
});

$("use-sample").addEventListener("click", () => {
  void analyse(new Blob([SAMPLE_CSV], { type: "text/csv" }), "sample-sales.csv");
});

// ---- Charts: the chart config's precomputed points, else the rows preview, drawn as SVG.

const W = 640, H = 300, M = { top: 12, right: 16, bottom: 44, left: 56 };

function svgEl(name, attrs, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const key in attrs) node.setAttribute(key, String(attrs[key]));
  if (parent) parent.append(node);
  return node;
}

function fmt(n) {
  if (typeof n !== "number" || !isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (abs >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (abs >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(Number(n.toPrecision(4)));
}

const num = (v) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" && isFinite(Number(v)) ? Number(v) : NaN);

/** Evenly spaced, rounded ticks over [lo, hi]. */
function ticks(lo, hi, count) {
  if (lo === hi) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function linear(domain, range) {
  const [d0, d1] = domain[0] === domain[1] ? [domain[0] - 1, domain[1] + 1] : domain;
  return (v) => range[0] + ((v - d0) / (d1 - d0)) * (range[1] - range[0]);
}

function label(parent, x, y, text, anchor, extra) {
  const node = svgEl("text", Object.assign({ x, y, "text-anchor": anchor, class: "label" }, extra || {}), parent);
  node.textContent = text.length > 14 ? text.slice(0, 13) + "…" : text;
  return node;
}

function frame(svg, yScale, yTicks) {
  for (const t of yTicks) {
    const y = yScale(t);
    svgEl("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, class: "grid" }, svg);
    label(svg, M.left - 6, y + 4, fmt(t), "end");
  }
  svgEl("line", { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: "axis" }, svg);
  svgEl("line", { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, class: "axis" }, svg);
}

function aggregate(values, how) {
  const xs = values.filter((v) => !isNaN(v));
  if (how === "count") return values.length;
  if (xs.length === 0) return 0;
  if (how === "sum") return xs.reduce((a, b) => a + b, 0);
  if (how === "min") return Math.min(...xs);
  if (how === "max") return Math.max(...xs);
  if (how === "median") {
    const s = xs.slice().sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Category → value pairs: precomputed points keep their order; raw rows are grouped, aggregated and ranked. */
function categories(points, x, y, precomputed) {
  const groups = new Map();
  for (const point of points) {
    const key = point[x.field] === null || point[x.field] === undefined ? "(empty)" : String(point[x.field]);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(y ? num(point[y.field]) : 1);
  }
  const how = precomputed ? (y ? "sum" : "count") : y ? y.aggregate || "mean" : "count";
  const out = [...groups].map(([key, values]) => ({ key, value: aggregate(values, how) }));
  return precomputed ? out.slice(0, 40) : out.sort((a, b) => b.value - a.value).slice(0, 20);
}

/** Equal-width bins of a numeric column from raw rows. */
function bins(points, field) {
  const values = points.map((p) => num(p[field])).filter((v) => !isNaN(v));
  if (values.length === 0) return [];
  const lo = Math.min(...values), hi = Math.max(...values);
  const n = lo === hi ? 1 : Math.min(20, Math.max(5, Math.ceil(Math.sqrt(values.length))));
  const width = (hi - lo) / n || 1;
  const counts = new Array(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / width))]++;
  return counts.map((count, i) => ({ key: fmt(lo + i * width), value: count }));
}

function drawBars(svg, series) {
  const max = Math.max(0, ...series.map((s) => s.value));
  const min = Math.min(0, ...series.map((s) => s.value));
  const y = linear([min, max], [H - M.bottom, M.top]);
  frame(svg, y, ticks(min, max, 5));
  const band = (W - M.left - M.right) / Math.max(1, series.length);
  const every = Math.ceil(series.length / 10);
  series.forEach((s, i) => {
    const x = M.left + i * band;
    const top = y(Math.max(0, s.value)), bottom = y(Math.min(0, s.value));
    const bar = svgEl("rect", { x: x + band * 0.1, y: top, width: Math.max(1, band * 0.8), height: Math.max(0, bottom - top), class: "mark" }, svg);
    svgEl("title", {}, bar).textContent = s.key + ": " + fmt(s.value);
    if (i % every === 0) label(svg, x + band / 2, H - M.bottom + 16, s.key, "middle");
  });
}

/** x positions for line and scatter charts: numbers, else dates, else the points' order. */
function xPositions(values) {
  if (values.every((v) => !isNaN(num(v)))) return { at: values.map(num), show: fmt };
  const times = values.map((v) => Date.parse(String(v)));
  if (times.every((t) => !isNaN(t))) return { at: times, show: (t) => new Date(t).toISOString().slice(0, 10) };
  return { at: values.map((_, i) => i), show: (i) => String(values[Math.round(i)] ?? "") };
}

function drawXY(svg, points, x, y, kind) {
  let pairs = points.map((p) => ({ x: p[x.field], y: num(p[y.field]) })).filter((p) => p.x !== null && p.x !== undefined && !isNaN(p.y));
  const pos = xPositions(pairs.map((p) => p.x));
  pairs = pairs.map((p, i) => ({ x: pos.at[i], y: p.y }));
  if (kind !== "scatter") pairs.sort((a, b) => a.x - b.x);
  if (pairs.length === 0) return false;
  const xs = pairs.map((p) => p.x), ys = pairs.map((p) => p.y);
  const xLo = Math.min(...xs), xHi = Math.max(...xs);
  const yLo = Math.min(kind === "area" ? 0 : Infinity, ...ys), yHi = Math.max(...ys);
  const sx = linear([xLo, xHi], [M.left + 8, W - M.right - 8]);
  const sy = linear([yLo, yHi], [H - M.bottom, M.top]);
  frame(svg, sy, ticks(yLo, yHi, 5));
  const xTicks = pos.show === fmt ? ticks(xLo, xHi, 5) : [xLo, (xLo + xHi) / 2, xHi];
  for (const t of xTicks) label(svg, sx(t), H - M.bottom + 16, pos.show(t), "middle");
  if (kind === "scatter") {
    for (const p of pairs) svgEl("circle", { cx: sx(p.x), cy: sy(p.y), r: 3.5, class: "mark dot" }, svg);
    return true;
  }
  const d = pairs.map((p, i) => (i ? "L" : "M") + sx(p.x).toFixed(1) + "," + sy(p.y).toFixed(1)).join("");
  if (kind === "area") svgEl("path", { d: d + "L" + sx(xHi).toFixed(1) + "," + sy(yLo) + "L" + sx(xLo).toFixed(1) + "," + sy(yLo) + "Z", class: "mark area" }, svg);
  svgEl("path", { d, class: "line" }, svg);
  if (pairs.length <= 60) for (const p of pairs) svgEl("circle", { cx: sx(p.x), cy: sy(p.y), r: 2.5, class: "mark dot" }, svg);
  return true;
}

/** The rows preview, fetched once per dataset, for charts that came without points. */
async function previewRows() {
  if (!state.rows) state.rows = (await (await api("/datasets/" + state.datasetId + "/rows?limit=500")).json()).rows;
  return state.rows;
}

async function addChart(chart) {
  // A chart carries its spec's rows (which may be none); only one saved before charts carried data falls back to the preview.
  const precomputed = Array.isArray(chart.data);
  const points = precomputed ? chart.data : await previewRows();
  const figure = document.createElement("figure");
  figure.dataset.testid = "chart";
  figure.dataset.chartType = chart.type;
  const id = "chart-" + $("charts").children.length;
  const caption = document.createElement("figcaption");
  const title = document.createElement("h3");
  title.id = id + "-title";
  title.textContent = chart.title;
  const about = document.createElement("p");
  about.textContent = chart.description || "";
  caption.append(title, about);
  const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": id + "-title", class: "chart" });
  // A pie's slices are its color channel and their size its theta; a heatmap is drawn as its row counts per x bin.
  const x = chart.encoding.x || chart.encoding.color;
  const y = chart.type === "heatmap" && chart.encoding.color ? chart.encoding.color : chart.encoding.y || chart.encoding.theta;
  let drawn = Boolean(x);
  if (!x) drawn = false;
  else if ((chart.type === "line" || chart.type === "area" || chart.type === "scatter") && y) drawn = drawXY(svg, points, x, y, chart.type);
  else if (chart.type === "histogram" && !precomputed) drawBars(svg, bins(points, x.field));
  else drawBars(svg, categories(points, x, y, precomputed)); // bar, histogram bins, and the fallback for pie, box, heatmap
  if (!drawn || svg.querySelectorAll(".mark").length === 0) {
    about.textContent += " (no points to draw)";
  }
  figure.append(caption, svg);
  $("charts").append(figure);
}
`;
