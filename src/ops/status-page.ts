// The status page: one self-contained HTML document (no build step, no CDN) that polls
// /proxy_proxy/status and /metrics-free JSON every two seconds and redraws. Served under the
// runtime API's allow-list.

export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>proxy-proxy status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f6f7f9; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
  .muted { color: #667; }
  table { border-collapse: collapse; background: #fff; min-width: 40rem; }
  th, td { text-align: left; padding: .3rem .7rem; border-bottom: 1px solid #e3e6ea; }
  th { background: #eef0f3; font-weight: 600; }
  .state { display: inline-block; padding: 0 .5rem; border-radius: .6rem; font-weight: 600; }
  .up { background: #d8f3dc; color: #1b5e20; }
  .down { background: #ffd6d6; color: #8b0000; }
  .drained, .maintenance { background: #fff1c2; color: #7a5b00; }
  .ejected { background: #ffe0b2; color: #8a4b00; }
  #error { color: #8b0000; }
</style>
</head>
<body>
<h1>proxy-proxy</h1>
<div class="muted">config <span id="config">…</span> · refreshed <span id="refreshed">never</span> <span id="error"></span></div>

<h2>Backends</h2>
<table id="backends"><thead><tr><th>backend</th><th>state</th><th>features</th><th>last check</th><th>consecutive failures</th><th>ejections</th></tr></thead><tbody></tbody></table>

<h2>Features</h2>
<table id="features"><thead><tr><th>feature</th><th>policy</th><th>backends</th><th>requests</th><th>errors</th><th>p50 ms</th><th>catching up</th></tr></thead><tbody></tbody></table>

<h2>Replicated writes</h2>
<div id="sagas" class="muted">…</div>
<table id="backlog"><thead><tr><th>feature</th><th>backend</th><th>catch-up backlog</th></tr></thead><tbody></tbody></table>

<h2>Remote execution</h2>
<div id="rex" class="muted">not enabled</div>

<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
function rows(id, list) { $(id).querySelector('tbody').innerHTML = list.join(''); }
function stateBadge(b) {
  const s = b.ejectedUntil ? 'ejected' : b.state;
  return '<span class="state ' + esc(s) + '" data-backend="' + esc(b.name) + '">' + esc(s) + '</span>';
}
async function refresh() {
  try {
    const res = await fetch('status', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) throw new Error('status ' + res.status);
    const doc = await res.json();
    $('config').textContent = doc.config ?? '(built in)';
    rows('backends', doc.backends.map((b) => '<tr><td>' + esc(b.name) + '</td><td>' + stateBadge(b) + '</td><td>' + esc(b.features.join(', ')) +
      '</td><td>' + esc(b.lastCheck ? (b.lastCheck.ok ? 'ok' : 'failed') + ': ' + b.lastCheck.detail : '—') + '</td><td>' + b.consecutiveFailures +
      '</td><td>' + b.ejections + '</td></tr>'));
    const traffic = doc.traffic || {};
    rows('features', doc.features.map((f) => {
      const t = traffic[f.name] || {};
      return '<tr><td>' + esc(f.name) + '</td><td>' + esc(f.policy) + (f.on_backend_down ? ' (' + esc(f.on_backend_down) + ')' : '') + '</td><td>' +
        esc(f.backends.join(', ')) + '</td><td>' + (t.requests ?? 0) + '</td><td>' + (t.errors ?? 0) + '</td><td>' + (t.p50ms ?? '—') +
        '</td><td>' + esc((f.catching_up || []).join(', ')) + '</td></tr>';
    }));
    const c = doc.convergence;
    $('sagas').textContent = c.openSagas + ' open, ' + c.pendingCompensations.length + ' compensation(s) pending' +
      c.pendingCompensations.map((p) => ' · saga ' + p.id + ' ' + p.route + ': ' + (p.lastError || '')).join('');
    const backlog = [];
    for (const [feature, per] of Object.entries(c.catchUpBacklog)) for (const [backend, n] of Object.entries(per)) backlog.push('<tr><td>' + esc(feature) + '</td><td>' + esc(backend) + '</td><td>' + n + '</td></tr>');
    rows('backlog', backlog);
    if (doc.rex) $('rex').textContent = Object.entries(doc.rex.jobs || {}).map(([s, n]) => s + ': ' + n).join(' · ') + (doc.rex.mqtt ? ' · MQTT ' + doc.rex.mqtt : '');
    $('refreshed').textContent = new Date().toLocaleTimeString();
    $('error').textContent = '';
  } catch (e) {
    $('error').textContent = '(' + e.message + ')';
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
