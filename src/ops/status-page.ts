// The status page (docs/operations.md, "The status page"): one HTML document rendered on the
// server from the status document and the last hour of history, pictures as inline SVG, no
// script library and no external asset. A few lines of script fetch the page's main part again
// every two seconds and swap it in; without script the page reloads itself every ten.
import { STRIP_LEGEND, SPOOL_LEGEND, clock, duration, esc, healthStrip, sparkline, spoolBar, type Point } from './status-charts.js';
import type { HistorySample, HistoryView } from './status-history.js';

/** What the page reads of the runtime API's status document. */
export interface StatusView {
  config: string | null;
  backends: {
    name: string;
    state: string;
    ejectedUntil: number | null;
    ejections: number;
    consecutiveFailures: number;
    lastCheck: { at: number; ok: boolean; detail: string } | null;
    features: string[];
  }[];
  features: { name: string; policy: string; backends: string[]; on_backend_down?: string; catching_up: string[] }[];
  convergence: {
    openSagas: number;
    pendingCompensations: { id: number; route: string; lastError: string | null }[];
    catchUpBacklog: Record<string, Record<string, number>>;
  };
  traffic: Record<string, { requests: number; errors: number; p50ms: number | null }>;
  rex?: { jobs: Record<string, number>; mqtt: string; failed?: number; finishedLastMinute?: number };
}

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f6f7f9; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
  h3 { font-size: .95rem; margin: 1rem 0 .3rem; }
  .muted { color: #5b6270; }
  table { border-collapse: collapse; background: #fff; min-width: 40rem; }
  th, td { text-align: left; padding: .3rem .7rem; border-bottom: 1px solid #e3e6ea; vertical-align: middle; }
  th { background: #eef0f3; font-weight: 600; }
  .state { display: inline-block; padding: 0 .5rem; border-radius: .6rem; font-weight: 600; }
  .up { background: #d8f3dc; color: #1b5e20; }
  .down { background: #ffd6d6; color: #8b0000; }
  .drained, .maintenance { background: #fff1c2; color: #7a5b00; }
  .ejected { background: #ffe0b2; color: #8a4b00; }
  #error { color: #8b0000; }
  .strips { background: #fff; padding: .5rem .7rem; max-width: 62rem; }
  .strip-row { display: grid; grid-template-columns: 9rem 1fr; align-items: center; gap: .6rem; margin: .25rem 0; }
  .strip-row .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  svg.strip { display: block; width: 100%; height: 16px; background: #e3e6ea; }
  .axis { display: grid; grid-template-columns: 9rem 1fr 1fr 1fr; gap: .6rem; font-size: .8rem; color: #5b6270; }
  .axis span:nth-child(3) { text-align: center; } .axis span:nth-child(4) { text-align: right; }
  .legend { list-style: none; display: flex; flex-wrap: wrap; gap: .2rem 1rem; padding: 0; margin: .3rem 0; font-size: .85rem; }
  .swatch { display: inline-block; width: .9rem; height: .9rem; margin-right: .3rem; vertical-align: -.15rem; border-radius: 2px; }
  .st-up { fill: #2e7d32; background: #2e7d32; }
  .st-down { fill: #c62828; background: #c62828; }
  .st-ejected { fill: #ef6c00; background: #ef6c00; }
  .st-catching_up { fill: #1e88e5; background: #1e88e5; }
  .st-drained { fill: #f9a825; background: #f9a825; }
  .st-maintenance { fill: #8e24aa; background: #8e24aa; }
  .st-unknown { fill: #cfd4da; background: #cfd4da; }
  .sp-waiting { fill: #90a4ae; background: #90a4ae; }
  .sp-notified { fill: #1e88e5; background: #1e88e5; }
  .sp-running { fill: #f9a825; background: #f9a825; }
  .sp-finished { fill: #2e7d32; background: #2e7d32; }
  .sp-failed { fill: #c62828; background: #c62828; }
  svg.spark { width: 160px; height: 28px; vertical-align: middle; margin-right: .4rem; }
  .spark polyline { fill: none; stroke: #1565c0; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
  .spark.errors polyline { stroke: #c62828; }
  .spark.latency polyline { stroke: #6a1b9a; }
  .spark .base { stroke: #d0d4da; stroke-width: 1; vector-effect: non-scaling-stroke; }
  svg.spool { display: block; width: 100%; max-width: 60rem; height: 18px; background: #e3e6ea; }
  .num { font-variant-numeric: tabular-nums; }
`;

const REFRESH = `
const main = document.getElementById('main');
const problem = document.getElementById('error');
async function refresh() {
  try {
    const res = await fetch('?part=main', { cache: 'no-store' });
    if (!res.ok) throw new Error('status ' + res.status);
    main.innerHTML = await res.text();
    document.getElementById('refreshed').textContent = new Date().toISOString().slice(11, 19) + ' UTC';
    problem.textContent = '';
  } catch (e) {
    problem.textContent = '(' + e.message + ')';
  }
}
setInterval(refresh, 2000);
`;

export function renderStatusPage(view: StatusView, history: HistoryView): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>proxy-proxy status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="10"></noscript>
<style>${STYLE}</style>
</head>
<body>
<h1>proxy-proxy</h1>
<div class="muted">refreshed <span id="refreshed">${esc(clock(history.to))}</span> <span id="error" role="status"></span></div>
<main id="main">${renderMain(view, history)}</main>
<script>${REFRESH}</script>
</body>
</html>
`;
}

/** The part the page swaps in on each refresh. */
export function renderMain(view: StatusView, history: HistoryView): string {
  return [meta(view, history), backends(view, history), features(view, history), replicated(view, history), rex(view, history)].join('\n');
}

function meta(view: StatusView, h: HistoryView): string {
  return `<div class="muted">config <span id="config">${esc(view.config ?? '(built in)')}</span> · rendered ${esc(clock(h.to))} · pictures cover the last ${esc(duration(h.to - h.from))}, sampled every ${esc(duration(h.intervalMs))}</div>`;
}

function table(id: string, head: string[], rows: string[][]): string {
  const th = head.map((c) => `<th scope="col">${c}</th>`).join('');
  return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function backends(view: StatusView, h: HistoryView): string {
  const rows = view.backends.map((b) => {
    const s = b.ejectedUntil ? 'ejected' : b.state;
    const check = b.lastCheck ? `${b.lastCheck.ok ? 'ok' : 'failed'}: ${b.lastCheck.detail}` : '—';
    return [
      esc(b.name),
      `<span class="state ${esc(s)}" data-backend="${esc(b.name)}">${esc(s)}</span>`,
      esc(b.features.join(', ')),
      esc(check),
      String(b.consecutiveFailures),
      String(b.ejections),
    ];
  });
  const strips = view.backends
    .map((b) => `<div class="strip-row"><span class="name">${esc(b.name)}</span>${healthStrip(b.name, h.transitions[b.name] ?? [], h.from, h.to)}</div>`)
    .join('');
  const half = duration((h.to - h.from) / 2);
  return `<h2>Backends</h2>
${table('backends', ['backend', 'state', 'features', 'last check', 'consecutive failures', 'ejections'], rows)}
<h3 id="health-title">Health, last ${esc(duration(h.to - h.from))}</h3>
<div class="strips" role="group" aria-labelledby="health-title">${STRIP_LEGEND()}${strips}
<div class="axis" aria-hidden="true"><span></span><span>${esc(duration(h.to - h.from))} ago</span><span>${esc(half)} ago</span><span>now</span></div></div>`;
}

function series(samples: readonly HistorySample[], pick: (s: HistorySample) => number | null | undefined): Point[] {
  return samples.map((s) => ({ at: s.at, value: pick(s) ?? null }));
}

function features(view: StatusView, h: HistoryView): string {
  const rows = view.features.map((f) => {
    const t = view.traffic[f.name];
    return [
      esc(f.name),
      esc(f.policy) + (f.on_backend_down ? ` (${esc(f.on_backend_down)})` : ''),
      esc(f.backends.join(', ')),
      String(t?.requests ?? 0),
      String(t?.errors ?? 0),
      t?.p50ms === null || t?.p50ms === undefined ? '—' : String(t.p50ms),
      esc(f.catching_up.join(', ')),
    ];
  });
  const per = `per ${duration(h.intervalMs)}`;
  const trend = view.features.map((f) => {
    const last = h.samples.at(-1)?.features[f.name];
    const cell = (kind: string, what: string, pick: (s: HistorySample) => number | null, now: number | null | undefined) =>
      `${sparkline(series(h.samples, pick), h.from, h.to, `${f.name} ${what}`, kind)}<span class="num">${now ?? '—'}</span>`;
    return [
      esc(f.name),
      cell('requests', `answers ${per}`, (s) => s.features[f.name]?.requests ?? 0, last?.requests ?? 0),
      cell('errors', `5xx answers ${per}`, (s) => s.features[f.name]?.errors ?? 0, last?.errors ?? 0),
      cell('latency', 'median latency in ms', (s) => s.features[f.name]?.p50ms ?? null, last?.p50ms),
    ];
  });
  return `<h2>Features</h2>
${table('features', ['feature', 'policy', 'backends', 'requests', 'errors', 'p50 ms', 'catching up'], rows)}
<h3>Traffic, last ${esc(duration(h.to - h.from))} (latest ${esc(duration(h.intervalMs))} at the right)</h3>
${table('trends', ['feature', `answers ${esc(per)}`, `5xx ${esc(per)}`, 'median ms'], trend)}`;
}

function replicated(view: StatusView, h: HistoryView): string {
  const c = view.convergence;
  const sagas =
    `${c.openSagas} open, ${c.pendingCompensations.length} compensation(s) pending` +
    c.pendingCompensations.map((p) => ` · saga ${p.id} ${p.route}: ${p.lastError ?? ''}`).join('');
  const rows: string[][] = [];
  const perBackend = new Map<string, number>();
  for (const [feature, per] of Object.entries(c.catchUpBacklog)) {
    for (const [backend, n] of Object.entries(per)) {
      rows.push([esc(feature), esc(backend), String(n)]);
      perBackend.set(backend, (perBackend.get(backend) ?? 0) + n);
    }
  }
  const trend = [...perBackend].map(([backend, now]) => [
    esc(backend),
    `${sparkline(series(h.samples, (s) => (s.backlog ? (s.backlog[backend] ?? 0) : null)), h.from, h.to, `${backend} catch-up backlog`, 'backlog')}<span class="num">${now}</span>`,
  ]);
  return `<h2>Replicated writes</h2>
<div id="sagas" class="muted">${esc(sagas)}</div>
${table('backlog', ['feature', 'backend', 'catch-up backlog'], rows)}
${trend.length ? `<h3>Catch-up backlog, last ${esc(duration(h.to - h.from))}</h3>${table('backlog-trend', ['backend', 'ledger entries not yet applied'], trend)}` : ''}`;
}

function rex(view: StatusView, h: HistoryView): string {
  const r = view.rex;
  if (!r) return `<h2>Remote execution</h2>\n<div id="rex" class="muted">not enabled</div>`;
  const text = Object.entries(r.jobs).map(([s, n]) => `${s}: ${n}`).join(' · ') + ` · MQTT ${r.mqtt}`;
  const n = (s: string) => r.jobs[s] ?? 0;
  const failed = r.failed ?? 0;
  const bar = spoolBar({
    waiting: n('ready_for_pickup'),
    notified: n('notified'),
    running: n('delivered') + n('running'),
    finished: Math.max(0, n('finished') - failed),
    failed,
  });
  const rate = sparkline(series(h.samples, (s) => s.spool?.perMinute ?? null), h.from, h.to, 'jobs finished per minute', 'rate');
  return `<h2>Remote execution</h2>
<div id="rex" class="muted">${esc(text)}</div>
<h3>Spool by state</h3>
${SPOOL_LEGEND()}${bar}
<p>${rate}<span class="num" id="jobs-per-minute">${r.finishedLastMinute ?? 0}</span> job(s) finished in the last minute</p>`;
}
