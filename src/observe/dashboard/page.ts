const escapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => escapes[c] ?? c);

/** The dashboard's HTML: the page's frame; the bundled client fills it from `/dashboard/graph` and `/dashboard/events`. */
export function page(application: string): string {
  const name = escape(application);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name} · Sluice</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>Sluice · <span id="app-name">${name}</span></h1>
  <div class="totals">
    <span>dead letters <b id="dead-letters">–</b></span>
    <span>restarts <b id="restarts">–</b></span>
    <span>updated <b id="updated">–</b></span>
    <span id="status" data-status="connecting">connecting…</span>
  </div>
</header>
<main>
  <section id="pipeline"><h2>Pipeline</h2><div id="graph"></div></section>
  <section id="throughput"><h2>Throughput</h2><div id="charts"></div></section>
  <section id="models">
    <h2>Serving models</h2>
    <div id="model-panels"></div>
    <h2>Swaps and rejected updates</h2>
    <ol id="swap-history"></ol>
  </section>
</main>
<noscript>The dashboard needs JavaScript; the same data is at /metrics and /state.</noscript>
</body>
</html>
`;
}
