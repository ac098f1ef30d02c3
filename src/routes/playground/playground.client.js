// @ts-check
// The playground's browser code (plain JS, no framework), served inline with the page's CSP nonce: sign in, upload,
// follow the session's events over EventSource (opened with a single-use stream ticket), draw the charts as SVG.
// Type-checked against the DOM by tsconfig.client.json; the Worker imports it as text (wrangler.toml [[rules]]).

/**
 * @typedef {{ type?: string, title?: string, status?: number, detail?: string, code?: string, requestId?: string,
 *   errors?: { path: string, message: string }[], analysisId?: string }} Problem
 * @typedef {{ accessToken: string, refreshToken: string }} Tokens
 * @typedef {{ title: string, detail: string, kind: string, importance?: string }} Insight
 * @typedef {{ field: string, aggregate?: string }} Field
 * @typedef {Record<string, unknown>} Point
 * @typedef {{ type: string, title: string, description?: string, data?: Point[], encoding: { x?: Field, y?: Field, color?: Field, theta?: Field } }} Chart
 * @typedef {{ analysisId?: string, summary?: string, insights: number, charts: number }} Done
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * The page's element `id`, which must be a `type` (the markup is playground.page.ts).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} type
 * @returns {T}
 */
function element(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error("The page has no " + type.name + " #" + id);
  return node;
}

const ui = {
  authForm: element("auth-form", HTMLFormElement),
  email: element("email", HTMLInputElement),
  password: element("password", HTMLInputElement),
  signout: element("signout", HTMLButtonElement),
  authStatus: element("auth-status", HTMLElement),
  uploadForm: element("upload-form", HTMLFormElement),
  dataSection: element("data-section", HTMLFieldSetElement),
  file: element("file", HTMLInputElement),
  question: element("question", HTMLInputElement),
  useSample: element("use-sample", HTMLButtonElement),
  status: element("status", HTMLElement),
  error: element("error", HTMLElement),
  done: element("done", HTMLElement),
  insights: element("insights", HTMLOListElement),
  charts: element("charts", HTMLElement),
};

/** The sample dataset, from the page's JSON data block. @type {{ name: string, csv: string }} */
const SAMPLE = JSON.parse(element("sample-data", HTMLScriptElement).text);

/** @type {{ token: string | null, refreshToken: string | null, email: string | null, projectId: string | null, datasetId: string | null, rows: Point[] | null }} */
const state = { token: null, refreshToken: null, email: null, projectId: null, datasetId: null, rows: null };

// ---- HTTP: every failure is a problem document (RFC 9457); its detail is what people read.

class ProblemError extends Error {
  /** @param {Problem} problem */
  constructor(problem) {
    super(problem.detail || problem.title || "Request failed");
    this.problem = problem;
  }
}

/** @param {Response} response @returns {Promise<Problem>} */
async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {}
  }
  return {
    title: response.statusText || "Request failed",
    status: response.status,
    detail: "The server answered " + response.status + ".",
  };
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

/**
 * Calls the API with the access token; an expired token is refreshed once. Throws a ProblemError for any 4xx/5xx.
 * @param {string} path
 * @param {RequestInit} [init]
 * @param {boolean} [retried]
 * @returns {Promise<Response>}
 */
async function api(path, init = {}, retried = false) {
  const headers = new Headers(init.headers || {});
  if (state.token) headers.set("authorization", "Bearer " + state.token);
  const response = await fetch("/api/v1" + path, Object.assign({}, init, { headers }));
  if (response.status === 401 && !retried && state.refreshToken && (await refreshTokens())) return api(path, init, true);
  if (!response.ok) throw new ProblemError(await problemOf(response));
  return response;
}

/** @param {unknown} body @returns {RequestInit} */
const json = (body) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

// ---- Messages

/** @param {unknown} error */
function showError(error) {
  const problem =
    error instanceof ProblemError
      ? error.problem
      : { title: "Something went wrong", detail: error instanceof Error ? error.message : String(error) };
  const box = ui.error;
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
  ui.error.hidden = true;
  ui.error.replaceChildren();
}

/** @param {string} text */
function setStatus(text) {
  ui.status.textContent = text;
}

// ---- Sign up / sign in

/** @param {Tokens} tokens */
function keepTokens(tokens) {
  state.token = tokens.accessToken;
  state.refreshToken = tokens.refreshToken;
}

/** @param {string} email @param {string} password */
async function signIn(email, password) {
  const response = await api("/auth/signin", json({ email, password }));
  keepTokens(await response.json());
  state.email = email;
  ui.authStatus.textContent = "Signed in as " + email + ".";
  ui.dataSection.disabled = false;
  ui.signout.hidden = false;
}

ui.authForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  const submitter = event.submitter;
  const signUp = submitter instanceof HTMLButtonElement && submitter.value === "signup";
  const email = ui.email.value.trim();
  const password = ui.password.value;
  const buttons = ui.authForm.querySelectorAll("button");
  buttons.forEach((button) => {
    button.disabled = true;
  });
  try {
    if (signUp) {
      ui.authStatus.textContent = "Creating the account…";
      // Always 202, whether or not the address was new: sign-in says whether the password fits.
      await api("/auth/signup", json({ email, password }));
    }
    ui.authStatus.textContent = "Signing in…";
    await signIn(email, password);
  } catch (error) {
    ui.authStatus.textContent = "Not signed in.";
    showError(error);
  } finally {
    buttons.forEach((button) => {
      button.disabled = false;
    });
  }
});

ui.signout.addEventListener("click", async () => {
  try {
    await api("/auth/signout", json({ refreshToken: state.refreshToken }));
  } catch {}
  Object.assign(state, { token: null, refreshToken: null, email: null, projectId: null, datasetId: null, rows: null });
  ui.dataSection.disabled = true;
  ui.signout.hidden = true;
  ui.authStatus.textContent = "Signed out.";
});

// ---- Upload, session, analysis

/** @param {string} name */
function contentTypeOf(name) {
  if (/\.ndjson$|\.jsonl$/i.test(name)) return "application/x-ndjson";
  if (/\.json$/i.test(name)) return "application/json";
  return "text/csv";
}

function resetResults() {
  clearError();
  ui.insights.replaceChildren();
  ui.charts.replaceChildren();
  ui.done.hidden = true;
  ui.done.replaceChildren();
  state.rows = null;
}

/** @param {Blob} body @param {string} name */
async function analyse(body, name) {
  resetResults();
  ui.dataSection.disabled = true;
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
    const question = ui.question.value.trim();
    await followSession(session.id, async () => {
      setStatus("Analysing…");
      // Asked for JSON, the analysis is a queue job (202); its events arrive on the session's stream.
      const response = await api("/sessions/" + session.id + "/analyses", json(question ? { question } : {}));
      return (await response.json()).id;
    });
  } catch (error) {
    showError(error);
  } finally {
    ui.dataSection.disabled = !state.token;
  }
}

/** How often a dropped stream is reopened (each time with a new ticket, from the last event seen). */
const MAX_RECONNECTS = 5;

/**
 * Opens session `sessionId`'s event stream (EventSource cannot send Authorization: a single-use ticket opens it),
 * then `start`s the analysis, whose id it answers; resolves when that analysis is done, rejects on its problem.
 * @param {string} sessionId
 * @param {() => Promise<string>} start
 */
function followSession(sessionId, start) {
  return new Promise((resolve, reject) => {
    /** @type {EventSource | null} */
    let source = null;
    /** @type {string | null} */
    let analysisId = null;
    let lastEventId = "";
    let reconnects = 0;
    let settled = false;
    /** @type {{ type: string, data: any }[]} */
    const early = [];

    /** @param {unknown} error */
    const fail = (error) => {
      if (settled) return;
      settled = true;
      source?.close();
      reject(error);
    };

    /** @param {string} type @param {any} data */
    const handle = (type, data) => {
      if (data.analysisId !== analysisId) return;
      onEvent(type, data).then((finished) => {
        if (finished && !settled) {
          settled = true;
          source?.close();
          resolve(undefined);
        }
      }, fail);
    };

    /** @param {boolean} first */
    const open = async (first) => {
      const ticket = await (await api("/sessions/" + sessionId + "/events/ticket", { method: "POST" })).json();
      const url = ticket.url + (lastEventId ? "&lastEventId=" + encodeURIComponent(lastEventId) : "");
      const stream = new EventSource(url);
      source = stream;
      for (const type of ["status", "insight", "chart", "done", "problem"]) {
        stream.addEventListener(type, (event) => {
          const message = /** @type {MessageEvent<string>} */ (event);
          lastEventId = message.lastEventId || lastEventId;
          const data = JSON.parse(message.data);
          // Events can arrive before the POST that started the analysis has answered with its id.
          if (analysisId === null) early.push({ type, data });
          else handle(type, data);
        });
      }
      // A ticket opens the stream once: EventSource's own retry would be refused, so a new ticket reopens it.
      stream.onerror = () => {
        stream.close();
        if (settled) return;
        if (++reconnects > MAX_RECONNECTS)
          return fail(
            new ProblemError({
              title: "Stream lost",
              detail: "The event stream closed " + MAX_RECONNECTS + " times; reload to try again.",
            }),
          );
        setStatus("The event stream dropped; reconnecting…");
        open(false).catch(fail);
      };
      if (!first) return;
      await new Promise((opened) => stream.addEventListener("open", opened, { once: true }));
      analysisId = await start();
      for (const event of early.splice(0)) handle(event.type, event.data);
    };
    open(true).catch(fail);
  });
}

let engine = "";

/**
 * One event of the analysis; true when it ends the analysis.
 * @param {string} type
 * @param {any} data
 * @returns {Promise<boolean>}
 */
async function onEvent(type, data) {
  switch (type) {
    case "status":
      if (data.status === "queued") setStatus("Queued…");
      else if (data.status === "retrying") setStatus("The model failed; retrying in " + data.delaySeconds + " s…");
      else if (data.status === "repairing") {
        // The model's first answer failed validation: what it showed is discarded.
        ui.insights.replaceChildren();
        ui.charts.replaceChildren();
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

/** @param {Insight} insight */
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
  ui.insights.append(li);
  setStatus("Insights: " + ui.insights.children.length + ", charts: " + ui.charts.children.length + "…");
}

/** @param {Done} done @param {string} engineName */
function finish(done, engineName) {
  const box = ui.done;
  const head = document.createElement("strong");
  head.textContent =
    "Analysis complete: " +
    done.insights +
    " insights, " +
    done.charts +
    " charts" +
    (engineName ? " (" + engineName + " engine)" : "") +
    ".";
  const summary = document.createElement("p");
  summary.textContent = done.summary || "";
  box.append(head, summary);
  box.hidden = false;
  setStatus("Done.");
}

ui.uploadForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const file = ui.file.files?.[0];
  if (!file) {
    showError(new ProblemError({ title: "No file", detail: "Choose a CSV, JSON or NDJSON file first, or use the sample data." }));
    return;
  }
  void analyse(file, file.name);
});

ui.useSample.addEventListener("click", () => {
  void analyse(new Blob([SAMPLE.csv], { type: "text/csv" }), SAMPLE.name);
});

// ---- Charts: the chart config's precomputed points, else the rows preview, drawn as SVG.

const W = 640;
const H = 300;
const M = { top: 12, right: 16, bottom: 44, left: 56 };

/** @typedef {{ key: string, value: number }} Bar */

/**
 * @param {string} name
 * @param {Record<string, string | number>} attrs
 * @param {Element} [parent]
 * @returns {SVGElement}
 */
function svgEl(name, attrs, parent) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, name));
  for (const key in attrs) node.setAttribute(key, String(attrs[key]));
  if (parent) parent.append(node);
  return node;
}

/** @param {number} n */
function fmt(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (abs >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (abs >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(Number(n.toPrecision(4)));
}

/** @param {unknown} v @returns {number} */
const num = (v) =>
  typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : Number.NaN;

/** Evenly spaced, rounded ticks over [lo, hi]. @param {number} lo @param {number} hi @param {number} count */
function ticks(lo, hi, count) {
  if (lo === hi) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** @param {[number, number]} domain @param {[number, number]} range @returns {(v: number) => number} */
function linear(domain, range) {
  const [d0, d1] = domain[0] === domain[1] ? [domain[0] - 1, domain[1] + 1] : domain;
  return (v) => range[0] + ((v - d0) / (d1 - d0)) * (range[1] - range[0]);
}

/**
 * @param {Element} parent @param {number} x @param {number} y @param {string} text @param {string} anchor
 * @param {Record<string, string | number>} [extra]
 */
function label(parent, x, y, text, anchor, extra) {
  const node = svgEl("text", Object.assign({ x, y, "text-anchor": anchor, class: "label" }, extra || {}), parent);
  node.textContent = text.length > 14 ? text.slice(0, 13) + "…" : text;
  return node;
}

/** @param {SVGElement} svg @param {(v: number) => number} yScale @param {number[]} yTicks */
function frame(svg, yScale, yTicks) {
  for (const t of yTicks) {
    const y = yScale(t);
    svgEl("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, class: "grid" }, svg);
    label(svg, M.left - 6, y + 4, fmt(t), "end");
  }
  svgEl("line", { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: "axis" }, svg);
  svgEl("line", { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, class: "axis" }, svg);
}

/** @param {number[]} values @param {string} how */
function aggregate(values, how) {
  const xs = values.filter((v) => !Number.isNaN(v));
  if (how === "count") return values.length;
  if (xs.length === 0) return 0;
  if (how === "sum") return xs.reduce((a, b) => a + b, 0);
  if (how === "min") return Math.min(...xs);
  if (how === "max") return Math.max(...xs);
  if (how === "median") {
    const s = xs.slice().sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? /** @type {number} */ (s[mid]) : /** @type {number} */ (s[mid - 1] + /** @type {number} */ (s[mid])) / 2;
  }
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * Category → value pairs: precomputed points keep their order; raw rows are grouped, aggregated and ranked.
 * @param {Point[]} points @param {Field} x @param {Field | undefined} y @param {boolean} precomputed @returns {Bar[]}
 */
function categories(points, x, y, precomputed) {
  /** @type {Map<string, number[]>} */
  const groups = new Map();
  for (const point of points) {
    const value = point[x.field];
    const key = value === null || value === undefined ? "(empty)" : String(value);
    const group = groups.get(key) ?? [];
    group.push(y ? num(point[y.field]) : 1);
    groups.set(key, group);
  }
  const how = precomputed ? (y ? "sum" : "count") : y ? y.aggregate || "mean" : "count";
  const out = [...groups].map(([key, values]) => ({ key, value: aggregate(values, how) }));
  return precomputed ? out.slice(0, 40) : out.sort((a, b) => b.value - a.value).slice(0, 20);
}

/** Equal-width bins of a numeric column from raw rows. @param {Point[]} points @param {string} field @returns {Bar[]} */
function bins(points, field) {
  const values = points.map((p) => num(p[field])).filter((v) => !Number.isNaN(v));
  if (values.length === 0) return [];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const n = lo === hi ? 1 : Math.min(20, Math.max(5, Math.ceil(Math.sqrt(values.length))));
  const width = (hi - lo) / n || 1;
  /** @type {number[]} */
  const counts = new Array(n).fill(0);
  for (const v of values) {
    const at = Math.min(n - 1, Math.floor((v - lo) / width));
    counts[at] = (counts[at] ?? 0) + 1;
  }
  return counts.map((count, i) => ({ key: fmt(lo + i * width), value: count }));
}

/** @param {SVGElement} svg @param {Bar[]} series */
function drawBars(svg, series) {
  const max = Math.max(0, ...series.map((s) => s.value));
  const min = Math.min(0, ...series.map((s) => s.value));
  const y = linear([min, max], [H - M.bottom, M.top]);
  frame(svg, y, ticks(min, max, 5));
  const band = (W - M.left - M.right) / Math.max(1, series.length);
  const every = Math.ceil(series.length / 10);
  series.forEach((s, i) => {
    const x = M.left + i * band;
    const top = y(Math.max(0, s.value));
    const bottom = y(Math.min(0, s.value));
    const bar = svgEl(
      "rect",
      { x: x + band * 0.1, y: top, width: Math.max(1, band * 0.8), height: Math.max(0, bottom - top), class: "mark" },
      svg,
    );
    svgEl("title", {}, bar).textContent = s.key + ": " + fmt(s.value);
    if (i % every === 0) label(svg, x + band / 2, H - M.bottom + 16, s.key, "middle");
  });
}

/**
 * x positions for line and scatter charts: numbers, else dates, else the points' order.
 * @param {unknown[]} values @returns {{ at: number[], show: (v: number) => string }}
 */
function xPositions(values) {
  if (values.every((v) => !Number.isNaN(num(v)))) return { at: values.map(num), show: fmt };
  const times = values.map((v) => Date.parse(String(v)));
  if (times.every((t) => !Number.isNaN(t))) return { at: times, show: (t) => new Date(t).toISOString().slice(0, 10) };
  return { at: values.map((_, i) => i), show: (i) => String(values[Math.round(i)] ?? "") };
}

/** @param {SVGElement} svg @param {Point[]} points @param {Field} x @param {Field} y @param {string} kind */
function drawXY(svg, points, x, y, kind) {
  const raw = points
    .map((p) => ({ x: p[x.field], y: num(p[y.field]) }))
    .filter((p) => p.x !== null && p.x !== undefined && !Number.isNaN(p.y));
  const pos = xPositions(raw.map((p) => p.x));
  const pairs = raw.map((p, i) => ({ x: /** @type {number} */ (pos.at[i]), y: p.y }));
  if (kind !== "scatter") pairs.sort((a, b) => a.x - b.x);
  if (pairs.length === 0) return false;
  const xs = pairs.map((p) => p.x);
  const ys = pairs.map((p) => p.y);
  const xLo = Math.min(...xs);
  const xHi = Math.max(...xs);
  const yLo = Math.min(kind === "area" ? 0 : Number.POSITIVE_INFINITY, ...ys);
  const yHi = Math.max(...ys);
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
  if (kind === "area") {
    const close = "L" + sx(xHi).toFixed(1) + "," + sy(yLo) + "L" + sx(xLo).toFixed(1) + "," + sy(yLo) + "Z";
    svgEl("path", { d: d + close, class: "mark area" }, svg);
  }
  svgEl("path", { d, class: "line" }, svg);
  if (pairs.length <= 60) for (const p of pairs) svgEl("circle", { cx: sx(p.x), cy: sy(p.y), r: 2.5, class: "mark dot" }, svg);
  return true;
}

/** The rows preview, fetched once per dataset, for charts that came without points. @returns {Promise<Point[]>} */
async function previewRows() {
  if (!state.rows) state.rows = (await (await api("/datasets/" + state.datasetId + "/rows?limit=500")).json()).rows;
  return state.rows ?? [];
}

/** @param {Chart} chart */
async function addChart(chart) {
  // A chart carries its spec's rows (which may be none); only one saved before charts carried data falls back to the preview.
  const precomputed = Array.isArray(chart.data);
  const points = precomputed && chart.data ? chart.data : await previewRows();
  const figure = document.createElement("figure");
  figure.dataset.testid = "chart";
  figure.dataset.chartType = chart.type;
  const id = "chart-" + ui.charts.children.length;
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
  ui.charts.append(figure);
}
