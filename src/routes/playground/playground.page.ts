// The playground's HTML: one self-contained page (inline CSS and script, both carrying the request's CSP nonce; the sample
// data as a JSON data block, which is never executed).
import { sampleCsv } from "./playground.sample.ts";

/** JSON that cannot end the script element it sits in (nor open a comment there). */
const jsonInScript = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");
const sampleData = jsonInScript({ name: "sample-sales.csv", csv: sampleCsv });

const style = `
:root { color-scheme: light dark; --fg: #111827; --muted: #6b7280; --bg: #f9fafb; --card: #fff; --line: #e5e7eb; --accent: #2563eb; --bad: #b91c1c; }
@media (prefers-color-scheme: dark) { :root { --fg: #e5e7eb; --muted: #9ca3af; --bg: #111827; --card: #1f2937; --line: #374151; --accent: #60a5fa; --bad: #f87171; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 960px; margin: 0 auto; padding: 16px; }
header { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 1.4rem; margin: 0; }
header nav { margin-left: auto; display: flex; gap: 12px; }
a { color: var(--accent); }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px; margin-bottom: 16px; }
h2 { font-size: 1.1rem; margin: 0 0 12px; }
form { display: grid; gap: 10px; }
fieldset { border: 0; padding: 0; margin: 0; display: grid; gap: 10px; }
fieldset:disabled { opacity: .55; }
label { display: grid; gap: 4px; font-weight: 600; font-size: .9rem; }
input { font: inherit; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
.row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
button { font: inherit; padding: 8px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: .6; cursor: default; }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.hint, .meta { color: var(--muted); font-size: .85rem; margin: 0; }
#status { font-weight: 600; min-height: 1.5em; }
#error { border: 1px solid var(--bad); color: var(--bad); border-radius: 8px; padding: 10px 12px; margin: 8px 0; }
#error p { margin: 4px 0 0; }
#done { border-left: 4px solid var(--accent); padding: 6px 12px; margin: 12px 0; }
ol#insights { list-style: none; padding: 0; margin: 0; display: grid; gap: 10px; }
.insight { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.insight h3 { font-size: 1rem; margin: 0; }
.insight p { margin: 6px 0 0; }
.insight.importance-high { border-left: 4px solid var(--bad); }
.tag { color: var(--muted); font-size: .8rem; }
#charts { display: grid; gap: 16px; margin-top: 16px; grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr)); }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
figcaption h3 { font-size: 1rem; margin: 0; }
figcaption p { margin: 2px 0 6px; color: var(--muted); font-size: .85rem; }
svg.chart { width: 100%; height: auto; display: block; }
svg .mark { fill: var(--accent); }
svg .mark.area { fill-opacity: .2; stroke: none; }
svg .line { fill: none; stroke: var(--accent); stroke-width: 2; }
svg .dot { fill-opacity: .75; }
svg .axis { stroke: var(--muted); }
svg .grid { stroke: var(--line); }
svg .label { fill: var(--muted); font-size: 11px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** The page for one response; `nonce` is the one its Content-Security-Policy allows. */
/** The page's browser code (a Text module through wrangler.toml's [[rules]]), imported on first use so Node never runs it. */
export const playgroundScript = async () => (await import("./playground.client.js")).default as string;

export function playgroundPage(nonce: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Datacrafted API playground</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${style}</style>
</head>
<body>
<header>
  <h1>Datacrafted playground</h1>
  <p class="hint">Sign in, upload a CSV, watch the analysis stream in.</p>
  <nav aria-label="API documentation"><a href="/docs">API reference</a><a href="/openapi.json">OpenAPI document</a></nav>
</header>
<main>
  <section class="card" aria-labelledby="auth-heading">
    <h2 id="auth-heading">1. Account</h2>
    <form id="auth-form" data-testid="auth-form">
      <label for="email">Email <input id="email" name="email" type="email" autocomplete="username" required data-testid="email"></label>
      <label for="password">Password <input id="password" name="password" type="password" autocomplete="current-password" required aria-describedby="password-hint" data-testid="password"></label>
      <p id="password-hint" class="hint">A new account needs at least 10 characters.</p>
      <div class="row">
        <button type="submit" value="signup" data-testid="signup">Create account and sign in</button>
        <button type="submit" value="signin" class="secondary" data-testid="signin">Sign in</button>
        <button type="button" id="signout" class="secondary" hidden data-testid="signout">Sign out</button>
      </div>
      <p id="auth-status" role="status" data-testid="auth-status">Not signed in.</p>
    </form>
  </section>

  <section class="card" aria-labelledby="data-heading">
    <h2 id="data-heading">2. Data</h2>
    <form id="upload-form">
      <fieldset id="data-section" disabled data-testid="data-section">
        <legend class="visually-hidden">Dataset and question</legend>
        <label for="file">CSV, JSON or NDJSON file <input id="file" name="file" type="file" accept=".csv,.json,.ndjson,.jsonl,text/csv,application/json" data-testid="file"></label>
        <label for="question">Question (optional) <input id="question" name="question" type="text" maxlength="2000" placeholder="What drives revenue?" data-testid="question"></label>
        <div class="row">
          <button type="submit" data-testid="analyse-file">Upload and analyse</button>
          <button type="button" id="use-sample" class="secondary" data-testid="use-sample">Use sample data</button>
        </div>
      </fieldset>
    </form>
  </section>

  <section class="card" aria-labelledby="results-heading">
    <h2 id="results-heading">3. Analysis</h2>
    <p id="status" role="status" aria-live="polite" data-testid="status">Waiting for data.</p>
    <div id="error" role="alert" hidden data-testid="error"></div>
    <div id="done" hidden data-testid="done"></div>
    <div aria-live="polite" aria-relevant="additions">
      <ol id="insights" data-testid="insights"></ol>
      <div id="charts" data-testid="charts"></div>
    </div>
  </section>
</main>
<script type="application/json" id="sample-data">${sampleData}</script>
<script type="module" nonce="${nonce}">${script}</script>
</body>
</html>
`;
}
